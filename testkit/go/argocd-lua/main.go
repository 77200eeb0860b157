// Command argocd-lua tells what health Argo CD would show for Kubernetes objects given a
// resource health script (health.lua), without Argo CD. It rebuilds the few steps Argo CD takes,
// with the Lua interpreter Argo CD embeds (github.com/yuin/gopher-lua, Lua 5.1):
//
//   - An object with a valid metadata.deletionTimestamp (and no Argo CD hook finalizer) is
//     Progressing "Pending deletion"; the script does not run (gitops-engine pkg/health).
//   - Otherwise a fresh Lua state runs the script with a 1 s timeout. A script from argocd-cm
//     gets only the package, base and table libraries (no string, math, io or os; `require("os")`
//     yields os.time and os.date only) unless argocd-cm says
//     `resource.customizations.useOpenLibs.<group>_<kind>: "true"`; Argo CD's bundled scripts
//     always get all of gopher-lua's libraries (util/lua/lua.go).
//   - The object is the global `obj`, decoded from JSON the way layeh.com/gopher-json does it:
//     every number a float64, nulls dropped, in arrays too (a null entry closes the gap).
//   - The returned table goes through JSON into {status, message}. A status Argo CD does not
//     know becomes Unknown "Lua returned an invalid health status"; an error (a runtime error,
//     the timeout, a return value that is not a table) becomes Unknown with the error's text.
//
// Usage:
//
//	argocd-lua health [-open-libs] [-script-only] SCRIPT < OBJECTS
//	    OBJECTS is JSON or YAML: one object, an array of objects or a List (`kubectl get -o
//	    json`). Prints {"status": ..., "message": ...} per object: one JSON object for one
//	    object, else a JSON array in input order.
//	argocd-lua test [-open-libs] DIR
//	    Runs DIR/health_test.yaml against DIR/health.lua the way Argo CD's own test of its
//	    resource_customizations/<group>/<kind>/ folders does (the script alone, no deletion
//	    rule) and prints one line per test; exits 1 if any test fails.
//
// Exit status 2 means the input could not be read.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

// healthStatus is gitops-engine's HealthStatus.
type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// The statuses Argo CD accepts from a script.
var knownStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

const (
	scriptTimeout = 1 * time.Second
	// Objects Argo CD is deleting as sync hooks carry this finalizer; only they keep their
	// script while being deleted.
	hookFinalizer = "argocd.argoproj.io/hook-finalizer"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "health":
		err = healthCommand(os.Args[2:])
	case "test":
		var failed bool
		failed, err = testCommand(os.Args[2:])
		if err == nil && failed {
			os.Exit(1)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua:", err)
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: argocd-lua health [-open-libs] [-script-only] SCRIPT < OBJECTS")
	fmt.Fprintln(os.Stderr, "       argocd-lua test [-open-libs] DIR")
	os.Exit(2)
}

func healthCommand(args []string) error {
	flags := flag.NewFlagSet("health", flag.ExitOnError)
	openLibs := flags.Bool("open-libs", false, "open all Lua libraries, as useOpenLibs or a bundled script does")
	scriptOnly := flags.Bool("script-only", false, "run the script on deleted objects too (skip the Pending deletion rule)")
	flags.Parse(args)
	if flags.NArg() != 1 {
		usage()
	}
	script, err := os.ReadFile(flags.Arg(0))
	if err != nil {
		return err
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	objects, single, err := parseObjects(input)
	if err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	results := make([]healthStatus, 0, len(objects))
	for _, object := range objects {
		if *scriptOnly {
			results = append(results, scriptHealth(string(script), object, *openLibs))
		} else {
			results = append(results, resourceHealth(string(script), object, *openLibs))
		}
	}
	var output any = results
	if single {
		output = results[0]
	}
	encoder := json.NewEncoder(os.Stdout)
	// Messages are shown as they are: no \u003c for "<string>:44:".
	encoder.SetEscapeHTML(false)
	return encoder.Encode(output)
}

// parseObjects reads one object, an array of objects or a List; single says it was one object.
func parseObjects(input []byte) (objects []map[string]any, single bool, err error) {
	// JSON is YAML too; through JSON, every number becomes a float64, as in Argo CD.
	asJSON, err := yaml.YAMLToJSON(input)
	if err != nil {
		return nil, false, err
	}
	var decoded any
	if err := json.Unmarshal(asJSON, &decoded); err != nil {
		return nil, false, err
	}
	items, isArray := decoded.([]any)
	if object, ok := decoded.(map[string]any); ok {
		kind, _ := object["kind"].(string)
		list, hasItems := object["items"].([]any)
		if !strings.HasSuffix(kind, "List") || !hasItems {
			return []map[string]any{object}, true, nil
		}
		items, isArray = list, true
	}
	if !isArray {
		return nil, false, errors.New("expected an object, an array of objects or a List")
	}
	for i, item := range items {
		object, ok := item.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("item %d is not an object", i)
		}
		objects = append(objects, object)
	}
	return objects, false, nil
}

// resourceHealth is what Argo CD shows: gitops-engine's GetResourceHealth with the script as
// the resource's health override.
func resourceHealth(script string, object map[string]any, openLibs bool) healthStatus {
	if beingDeleted(object) && !slices.Contains(finalizers(object), hookFinalizer) {
		return healthStatus{Status: "Progressing", Message: "Pending deletion"}
	}
	return scriptHealth(script, object, openLibs)
}

// scriptHealth is the script's verdict, with an error shown as Unknown the way Argo CD shows it.
func scriptHealth(script string, object map[string]any, openLibs bool) healthStatus {
	health, err := executeHealthLua(script, object, openLibs)
	if err != nil {
		return healthStatus{Status: "Unknown", Message: err.Error()}
	}
	return health
}

// beingDeleted mirrors Unstructured.GetDeletionTimestamp() != nil: the field must be an RFC 3339
// time, else Kubernetes' accessor reads it as unset.
func beingDeleted(object map[string]any) bool {
	metadata, _ := object["metadata"].(map[string]any)
	text, _ := metadata["deletionTimestamp"].(string)
	stamp, err := time.Parse(time.RFC3339, text)
	return err == nil && !stamp.IsZero()
}

func finalizers(object map[string]any) []string {
	metadata, _ := object["metadata"].(map[string]any)
	list, _ := metadata["finalizers"].([]any)
	var names []string
	for _, item := range list {
		if name, ok := item.(string); ok {
			names = append(names, name)
		}
	}
	return names
}

// executeHealthLua follows Argo CD's VM.ExecuteHealthLua (util/lua/lua.go).
func executeHealthLua(script string, object map[string]any, openLibs bool) (healthStatus, error) {
	state := newState(openLibs)
	defer state.Close()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	state.SetContext(ctx)
	state.SetGlobal("obj", luajson.DecodeValue(state, any(object)))

	err := state.DoString(script)
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		// Argo CD drops the Lua stack trace: the message is what a user sees.
		apiErr.StackTrace = ""
	}
	if err != nil {
		return healthStatus{}, err
	}

	returned := state.Get(-1)
	switch returned.Type() {
	case lua.LTNil:
		return healthStatus{}, nil
	case lua.LTTable:
	default:
		return healthStatus{}, fmt.Errorf("expect table output from Lua script, not %s", returned.Type())
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return healthStatus{}, err
	}
	var health healthStatus
	if err := json.Unmarshal(encoded, &health); err != nil {
		// Argo CD takes any type mismatch (an empty table encodes as [], a number as a
		// message) for "no health", not for an error.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return healthStatus{}, nil
		}
		return healthStatus{}, err
	}
	if !slices.Contains(knownStatuses, health.Status) {
		return healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return health, nil
}

// newState opens the libraries Argo CD opens (VM.runLua).
func newState(openLibs bool) *lua.LState {
	state := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	for _, library := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		// Argo CD also calls its "safe os" opener here, but that registers the module under
		// the name "table", which exists by then, so it adds nothing: no global `os`.
	} {
		state.Push(state.NewFunction(library.open))
		state.Push(lua.LString(library.name))
		state.Call(1, 0)
	}
	// `local os = require("os")` works, with the safe functions only.
	state.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(l.SetFuncs(l.NewTable(), safeOsFunctions()))
		return 1
	})
	return state
}

// safeOsFunctions are os.time and os.date, all of the os library Argo CD lets a script have
// (its oslib_safe.go copies them from gopher-lua); here taken from gopher-lua's os library.
func safeOsFunctions() map[string]lua.LGFunction {
	full := lua.NewState()
	defer full.Close()
	library := full.GetGlobal(lua.OsLibName).(*lua.LTable)
	functions := map[string]lua.LGFunction{}
	for _, name := range []string{"time", "date"} {
		functions[name] = library.RawGetString(name).(*lua.LFunction).GFunction
	}
	return functions
}

// healthTests is the health_test.yaml of a resource_customizations/<group>/<kind>/ folder.
type healthTests struct {
	Tests []struct {
		HealthStatus healthStatus `json:"healthStatus"`
		InputPath    string       `json:"inputPath"`
	} `json:"tests"`
}

// testCommand runs health_test.yaml; failed says whether any test got another health.
func testCommand(args []string) (failed bool, err error) {
	flags := flag.NewFlagSet("test", flag.ExitOnError)
	openLibs := flags.Bool("open-libs", false, "open all Lua libraries, as Argo CD does for its bundled scripts")
	flags.Parse(args)
	if flags.NArg() != 1 {
		usage()
	}
	dir := flags.Arg(0)
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return false, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		return false, err
	}
	var tests healthTests
	if err := yaml.Unmarshal(raw, &tests); err != nil {
		return false, fmt.Errorf("health_test.yaml: %w", err)
	}
	if len(tests.Tests) == 0 {
		return false, errors.New("health_test.yaml has no tests")
	}
	// Argo CD picks the script by the object's group and kind: the folder must name them.
	absolute, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	kind := filepath.Base(absolute)
	group := filepath.Base(filepath.Dir(absolute))
	for _, test := range tests.Tests {
		input, err := os.ReadFile(filepath.Join(dir, test.InputPath))
		if err != nil {
			return false, err
		}
		objects, single, err := parseObjects(input)
		if err != nil || !single {
			return false, fmt.Errorf("%s: not one object (%v)", test.InputPath, err)
		}
		object := objects[0]
		apiVersion, _ := object["apiVersion"].(string)
		objectKind, _ := object["kind"].(string)
		objectGroup, _, _ := strings.Cut(apiVersion, "/")
		if objectGroup != group || objectKind != kind {
			failed = true
			fmt.Printf("FAIL %s: a %s %s, but this folder is %s/%s\n", test.InputPath, apiVersion, objectKind, group, kind)
			continue
		}
		got := scriptHealth(string(script), object, *openLibs)
		if got != test.HealthStatus {
			failed = true
			fmt.Printf("FAIL %s: got %s %q, want %s %q\n", test.InputPath, got.Status, got.Message, test.HealthStatus.Status, test.HealthStatus.Message)
			continue
		}
		fmt.Printf("ok   %s: %s %q\n", test.InputPath, got.Status, got.Message)
	}
	return failed, nil
}
