"""Drives real Helm (v4, through PyPI's helm-python-sdk) for the chart tests.

One request per run: a JSON object on stdin, a JSON object on stdout.

    {"action": "lint", "chart": DIR, "values": {...}}
    {"action": "render", "chart": DIR, "values": {...}, "release": NAME, "namespace": NS}
    {"action": "install" | "upgrade", "chart": DIR, "values": {...}, "release": NAME,
     "namespace": NS, "kubeconfig": FILE, "timeout": SECONDS}
    {"action": "uninstall", "release": NAME, "namespace": NS, "kubeconfig": FILE}
    {"action": "status", "release": NAME, "namespace": NS, "kubeconfig": FILE}

The answer is {"ok": true, "result": ...} or, when Helm refuses, {"ok": false, "error":
{"type": "HelmValuesError", "message": "..."}}; both exit 0. A malformed request or a missing
module exits non-zero with the reason on stderr.

Install and upgrade do not wait for pods (no wait mode: the test control planes run no
scheduler, so pods never start), and create CRDs with a plain create, as `helm install` did
before server-side apply became Helm 4's default: a Kubernetes 1.20 API server refuses the
CRD's CEL rules under server-side apply and drops them on create.
"""

import json
import sys

try:
    import helm_python as helm
    from helm_python import _native
except ImportError as error:  # pragma: no cover - reported to the Rust test
    sys.exit(f"helm_driver: cannot import helm_python ({error}); pip install helm-python-sdk")


def _opts(**pairs):
    present = {key: value for key, value in pairs.items() if value is not None}
    return json.dumps(present) if present else None


def _values(request):
    return json.dumps(request.get("values") or {})


def lint(request):
    return helm.lint(request["chart"], request.get("values") or {}, strict=True)


def render(request):
    with helm.Chart.load(request["chart"]) as chart:
        return chart.render(
            request.get("values") or {},
            name=request.get("release", "bedrock-operator"),
            namespace=request.get("namespace", "default"),
            is_install=True,
        )


def _config(request):
    return helm.Config(kubeconfig_path=request["kubeconfig"], namespace=request["namespace"])


def _summary(release):
    """What the tests look at: name, version, status and the manifest."""
    keep = ("name", "namespace", "revision", "status", "notes", "app_version", "manifest")
    return {key: release[key] for key in keep if key in release}


def _release_call(function, request, server_side_apply):
    """helm_install / helm_upgrade with the library's own options: the Python wrapper's keyword
    arguments do not expose server_side_apply, which must be off on servers before 1.25 (Helm 4
    applies CRDs server-side by default, and those servers refuse CEL rules that way)."""
    with _config(request) as config, helm.Chart.load(request["chart"]) as chart:
        payload = _native.call_string(
            function,
            config._raw(),
            _native.HANDLE(0),
            chart._raw(),
            None,
            request["release"],
            _values(request),
            _opts(
                namespace=request["namespace"],
                timeout_seconds=request.get("timeout", 120),
                server_side_apply=server_side_apply,
            ),
        )
        return _summary(json.loads(payload))


def install(request):
    # The install options decode server_side_apply as a JSON boolean ...
    return _release_call("helm_install", request, False)


def upgrade(request):
    # ... the upgrade options as a string: "true", "false" or "auto".
    return _release_call("helm_upgrade", request, "false")


def uninstall(request):
    with _config(request) as config:
        answer = config.uninstall(request["release"], timeout=request.get("timeout", 120))
        return {"info": answer.get("info", "")}


def status(request):
    with _config(request) as config:
        return _summary(config.status(request["release"]))


ACTIONS = {
    "lint": lint,
    "render": render,
    "install": install,
    "upgrade": upgrade,
    "uninstall": uninstall,
    "status": status,
}


def main():
    request = json.load(sys.stdin)
    action = ACTIONS.get(request.get("action"))
    if action is None:
        sys.exit(f"helm_driver: unknown action {request.get('action')!r}; one of {sorted(ACTIONS)}")
    try:
        answer = {"ok": True, "result": action(request)}
    except helm.HelmError as error:
        answer = {"ok": False, "error": {"type": type(error).__name__, "message": str(error)}}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
