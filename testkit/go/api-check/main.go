// api-check proves from inside a Pod that the Pod reaches the API server the way in-cluster
// clients do: through the `kubernetes` Service (KUBERNETES_SERVICE_HOST and _PORT), trusting
// the cluster CA and presenting the projected ServiceAccount token from
// /var/run/secrets/kubernetes.io/serviceaccount. It GETs /version, then asks the server who it
// is (a SelfSubjectReview: the server names the identity the token authenticated), prints both
// and exits 0; any failure exits 1 with the reason.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const accountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "api-check: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return fmt.Errorf("KUBERNETES_SERVICE_HOST/PORT are not set")
	}
	token, err := os.ReadFile(accountDir + "/token")
	if err != nil {
		return err
	}
	namespace, err := os.ReadFile(accountDir + "/namespace")
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(accountDir + "/ca.crt")
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return fmt.Errorf("no certificate in %s/ca.crt", accountDir)
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
	base := "https://" + net.JoinHostPort(host, port)
	call := func(method, path, payload string) ([]byte, error) {
		request, err := http.NewRequest(method, base+path, strings.NewReader(payload))
		if err != nil {
			return nil, err
		}
		request.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		request.Header.Set("Content-Type", "application/json")
		response, err := client.Do(request)
		if err != nil {
			return nil, err
		}
		defer response.Body.Close()
		body, err := io.ReadAll(response.Body)
		if err != nil {
			return nil, err
		}
		if response.StatusCode/100 != 2 {
			return nil, fmt.Errorf("%s %s: %s: %s", method, path, response.Status, body)
		}
		return body, nil
	}
	version, err := call(http.MethodGet, "/version", "")
	if err != nil {
		return err
	}
	var info struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(version, &info); err != nil {
		return fmt.Errorf("decoding /version: %w", err)
	}
	review, err := call(http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
		`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	if err != nil {
		return err
	}
	var who struct {
		Status struct {
			UserInfo struct {
				Username string `json:"username"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal(review, &who); err != nil {
		return fmt.Errorf("decoding the SelfSubjectReview: %w", err)
	}
	fmt.Printf("api-check: reached Kubernetes %s at %s as %s (namespace %s, uid %d)\n",
		info.GitVersion, base, who.Status.UserInfo.Username, strings.TrimSpace(string(namespace)), os.Getuid())
	return nil
}
