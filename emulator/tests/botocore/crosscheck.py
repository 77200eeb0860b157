"""Drives every emulator operation with botocore's own `bedrock` and `bedrock-runtime` clients
and service models.

Run by emulator/tests/botocore.rs with the pinned botocore first on PYTHONPATH:

    EMULATOR_URL=http://127.0.0.1:PORT EXPECTED_BOTOCORE=1.44.8 python3 crosscheck.py

The emulator must make models, deployments and Provisioned Throughputs ready at once, finish
updates and model import jobs at once (all delays 0), allow exactly two imported models, and
allow at least 10 provisioned model units. For every call the script checks, against the
service model:
  - a success answers the operation's documented HTTP status, and the response botocore parsed
    carries every member the output shape marks required, at every depth, with the modelled
    type (and enum value);
  - an error answers a code the operation documents, with that error's HTTP status and a
    message.
It prints one line per call, then `SUMMARY {json}`: calls per operation and outcome, which
the Rust test compares with the emulator's counters. Exit status 0 only if every check passed.
"""

import collections
import datetime
import json
import os
import sys
import urllib.parse
import urllib.request

import botocore
import botocore.parsers
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["EMULATOR_URL"]
EXPECTED_BOTOCORE = os.environ.get("EXPECTED_BOTOCORE")
ROLE_ARN = "arn:aws:iam::123456789012:role/BedrockImport"
S3_URI = "s3://amazon-sagemaker-bucket/models/nova/"

# Required members the emulator leaves out on purpose (emulator/README.md, "Documented
# choices"): imported models have no base model. Reported, not counted as problems.
KNOWN_OMISSIONS = {
    ("CustomModelSummary", "baseModelArn"),
    ("CustomModelSummary", "baseModelName"),
}

problems = []
calls = collections.defaultdict(collections.Counter)


def problem(text):
    problems.append(text)
    print(f"  PROBLEM: {text}")


# ----- Checking a parsed value against a shape -----

SCALARS = {
    "string": str,
    "timestamp": datetime.datetime,
    "integer": int,
    "long": int,
    "boolean": bool,
    "float": float,
    "double": float,
}


def missing_members(shape, value, path):
    """Every required member absent at any depth, and every value of the wrong type."""
    found = []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected a structure, got {type(value).__name__}"]
        for name in shape.required_members:
            if name not in value and (shape.name, name) not in KNOWN_OMISSIONS:
                found.append(f"{path}.{name}: required by {shape.name}, missing")
        for name, member in shape.members.items():
            if name in value:
                found += missing_members(member, value[name], f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        for index, item in enumerate(value):
            found += missing_members(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        for key, item in value.items():
            found += missing_members(shape.value, item, f"{path}[{key!r}]")
    elif kind in SCALARS:
        if not isinstance(value, SCALARS[kind]) or (kind != "boolean" and isinstance(value, bool)):
            found.append(f"{path}: expected {kind}, got {type(value).__name__} {value!r}")
        elif kind == "string" and shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum}")
    return found


def self_test(model):
    """The checker itself: a summary whose name member is renamed must be caught."""
    operation = model.operation_model("ListCustomModelDeployments")
    body = {
        "modelDeploymentSummaries": [
            {
                "customModelDeploymentArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefghij12",
                "modelDeploymentName": "renamed",
                "modelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12",
                "createdAt": "2026-11-22T13:53:53.123Z",
                "status": "Active",
            }
        ]
    }
    parsed = botocore.parsers.create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": json.dumps(body).encode()},
        operation.output_shape,
    )
    found = missing_members(operation.output_shape, parsed, "ListCustomModelDeployments")
    if not any("customModelDeploymentName" in text for text in found):
        problem(f"self-test: a renamed customModelDeploymentName went unnoticed ({found})")
    bad_enum = dict(body["modelDeploymentSummaries"][0], customModelDeploymentName="x", status="Updating")
    parsed = botocore.parsers.create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": json.dumps({"modelDeploymentSummaries": [bad_enum]}).encode()},
        operation.output_shape,
    )
    if not any("Updating" in text for text in missing_members(operation.output_shape, parsed, "")):
        problem("self-test: a status outside the enum went unnoticed")


# ----- Calls -----


class Caller:
    def __init__(self, client):
        self.client = client
        self.model = client.meta.service_model

    def ok(self, operation, **params):
        """Calls `operation` expecting success; returns the parsed response."""
        method = getattr(self.client, botocore.xform_name(operation))
        operation_model = self.model.operation_model(operation)
        try:
            response = method(**params)
        except ClientError as error:
            calls[operation][error.response["Error"]["Code"]] += 1
            problem(f"{operation}: expected success, got {error}")
            return {}
        calls[operation]["Ok"] += 1
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        expected = operation_model.http.get("responseCode", 200)
        print(f"{operation} -> {status}")
        if status != expected:
            problem(f"{operation}: HTTP {status}, the model says {expected}")
        if operation_model.output_shape is not None:
            for text in missing_members(operation_model.output_shape, response, operation):
                problem(text)
        return response

    def error(self, operation, expected_code, **params):
        """Calls `operation` expecting the documented error `expected_code`."""
        method = getattr(self.client, botocore.xform_name(operation))
        operation_model = self.model.operation_model(operation)
        try:
            method(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            message = error.response["Error"].get("Message", "")
            calls[operation][code] += 1
            print(f"{operation} -> {status} {code}: {message[:100]}")
            documented = {shape.name: shape for shape in operation_model.error_shapes}
            if code != expected_code:
                problem(f"{operation}: expected {expected_code}, got {code}")
            if code not in documented:
                problem(f"{operation}: {code} is not among the documented errors {sorted(documented)}")
            else:
                modelled = documented[code].metadata.get("error", {}).get("httpStatusCode")
                if status != modelled:
                    problem(f"{operation}: {code} came with HTTP {status}, the model says {modelled}")
            if not message:
                problem(f"{operation}: {code} without a message")
            return error
        calls[operation]["Ok"] += 1
        problem(f"{operation}: expected {expected_code}, the call succeeded")
        return None


def paginate(caller, operation, key, name_key, **params):
    """Walks every page of a list operation with maxResults 2; returns the names in order."""
    names, token, pages = [], None, 0
    while True:
        extra = {"nextToken": token} if token else {}
        page = caller.ok(operation, maxResults=2, **params, **extra)
        pages += 1
        items = page.get(key, [])
        if len(items) > 2:
            problem(f"{operation}: {len(items)} items on a page of 2")
        names += [item.get(name_key) for item in items]
        token = page.get("nextToken")
        if not token:
            return names, pages


def control(method, path, body=None):
    request = urllib.request.Request(
        f"{ENDPOINT}/__emulator{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def main():
    if EXPECTED_BOTOCORE and botocore.__version__ != EXPECTED_BOTOCORE:
        problem(f"botocore {botocore.__version__} was imported, {EXPECTED_BOTOCORE} is pinned")
    print(f"botocore {botocore.__version__} from {os.path.dirname(botocore.__file__)}")
    session = botocore.session.get_session()
    client = session.create_client(
        "bedrock",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    caller = Caller(client)
    self_test(caller.model)

    # Models: create, read, list page by page, tag.
    models = []
    for index in range(3):
        created = caller.ok(
            "CreateCustomModel",
            modelName=f"crosscheck-model-{index}",
            modelSourceConfig={"s3DataSource": {"s3Uri": S3_URI}},
            roleArn=ROLE_ARN,
            modelTags=[{"key": "team", "value": "ml"}],
            clientRequestToken=f"model-token-{index}",
        )
        models.append(created["modelArn"])
    caller.ok("GetCustomModel", modelIdentifier="crosscheck-model-0")
    caller.ok("GetCustomModel", modelIdentifier=models[1])
    names, pages = paginate(caller, "ListCustomModels", "modelSummaries", "modelName", sortOrder="Ascending")
    if names != [f"crosscheck-model-{index}" for index in range(3)] or pages != 2:
        problem(f"ListCustomModels: pages {pages}, names {names}")
    caller.ok("TagResource", resourceARN=models[0], tags=[{"key": "stage", "value": "prod"}])
    caller.ok("UntagResource", resourceARN=models[0], tagKeys=["team"])
    tags = caller.ok("ListTagsForResource", resourceARN=models[0]).get("tags")
    if tags != [{"key": "stage", "value": "prod"}]:
        problem(f"ListTagsForResource: {tags}")

    # Deployments: create three of model 0, read, list page by page and filtered, swap, tag.
    deployments = []
    for index in range(3):
        created = caller.ok(
            "CreateCustomModelDeployment",
            modelDeploymentName=f"crosscheck-deployment-{index}",
            modelArn=models[0],
            description=f"deployment {index}",
            tags=[{"key": "team", "value": "ml"}],
            clientRequestToken=f"deployment-token-{index}",
        )
        deployments.append(created["customModelDeploymentArn"])
    got = caller.ok("GetCustomModelDeployment", customModelDeploymentIdentifier="crosscheck-deployment-0")
    if got.get("modelDeploymentName") != "crosscheck-deployment-0" or got.get("status") != "Active":
        problem(f"GetCustomModelDeployment: {got}")
    caller.ok("GetCustomModelDeployment", customModelDeploymentIdentifier=deployments[1])
    names, pages = paginate(
        caller,
        "ListCustomModelDeployments",
        "modelDeploymentSummaries",
        "customModelDeploymentName",
        sortOrder="Ascending",
        sortBy="CreationTime",
    )
    if names != [f"crosscheck-deployment-{index}" for index in range(3)] or pages != 2:
        problem(f"ListCustomModelDeployments: pages {pages}, names {names}")
    filtered = caller.ok(
        "ListCustomModelDeployments",
        nameContains="deployment-2",
        statusEquals="Active",
        modelArnEquals=models[0],
        createdAfter=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    )
    if [s.get("customModelDeploymentName") for s in filtered.get("modelDeploymentSummaries", [])] != ["crosscheck-deployment-2"]:
        problem(f"ListCustomModelDeployments filters: {filtered.get('modelDeploymentSummaries')}")
    updated = caller.ok("UpdateCustomModelDeployment", customModelDeploymentIdentifier=deployments[0], modelArn=models[1])
    if updated.get("customModelDeploymentArn") != deployments[0]:
        problem(f"UpdateCustomModelDeployment: {updated}")
    got = caller.ok("GetCustomModelDeployment", customModelDeploymentIdentifier=deployments[0])
    if got.get("modelArn") != models[1] or got.get("updateDetails") != {"modelArn": models[1], "updateStatus": "UpdateCompleted"}:
        problem(f"GetCustomModelDeployment after the swap: {got}")
    caller.ok("TagResource", resourceARN=deployments[0], tags=[{"key": "stage", "value": "prod"}])
    caller.ok("UntagResource", resourceARN=deployments[0], tagKeys=["team"])
    tags = caller.ok("ListTagsForResource", resourceARN=deployments[0]).get("tags")
    if tags != [{"key": "stage", "value": "prod"}]:
        problem(f"ListTagsForResource of a deployment: {tags}")

    # Provisioned Throughput: one per kind of modelId (custom model ARN, custom model name with a
    # commitment, foundation model ID), read, list page by page and filtered, rename and switch
    # the model, tag.
    throughputs = []
    for index, (model_id, extra) in enumerate(
        [
            (models[0], {"tags": [{"key": "team", "value": "ml"}]}),
            ("crosscheck-model-1", {"commitmentDuration": "OneMonth"}),
            ("amazon.nova-lite-v1:0", {}),
        ]
    ):
        created = caller.ok(
            "CreateProvisionedModelThroughput",
            provisionedModelName=f"crosscheck-pt-{index}",
            modelUnits=1,
            modelId=model_id,
            clientRequestToken=f"provisioned-token-{index}",
            **extra,
        )
        throughputs.append(created["provisionedModelArn"])
    got = caller.ok("GetProvisionedModelThroughput", provisionedModelId="crosscheck-pt-1")
    if (
        got.get("status") != "InService"
        or got.get("modelArn") != models[1]
        or got.get("commitmentDuration") != "OneMonth"
        or "commitmentExpirationTime" not in got
    ):
        problem(f"GetProvisionedModelThroughput: {got}")
    got = caller.ok("GetProvisionedModelThroughput", provisionedModelId=throughputs[2])
    if not got.get("modelArn", "").endswith(":foundation-model/amazon.nova-lite-v1:0") or got.get("foundationModelArn") != got.get("modelArn"):
        problem(f"GetProvisionedModelThroughput of a foundation model: {got}")
    names, pages = paginate(
        caller,
        "ListProvisionedModelThroughputs",
        "provisionedModelSummaries",
        "provisionedModelName",
        sortOrder="Ascending",
        sortBy="CreationTime",
    )
    if names != [f"crosscheck-pt-{index}" for index in range(3)] or pages != 2:
        problem(f"ListProvisionedModelThroughputs: pages {pages}, names {names}")
    filtered = caller.ok(
        "ListProvisionedModelThroughputs",
        nameContains="pt-1",
        statusEquals="InService",
        modelArnEquals=models[1],
        creationTimeAfter=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    )
    if [s.get("provisionedModelName") for s in filtered.get("provisionedModelSummaries", [])] != ["crosscheck-pt-1"]:
        problem(f"ListProvisionedModelThroughputs filters: {filtered.get('provisionedModelSummaries')}")
    caller.ok(
        "UpdateProvisionedModelThroughput",
        provisionedModelId=throughputs[0],
        desiredProvisionedModelName="crosscheck-pt-renamed",
        desiredModelId=models[2],
    )
    got = caller.ok("GetProvisionedModelThroughput", provisionedModelId="crosscheck-pt-renamed")
    if got.get("modelArn") != models[2] or got.get("desiredModelArn") != models[2] or got.get("status") != "InService":
        problem(f"GetProvisionedModelThroughput after the update: {got}")
    caller.ok("TagResource", resourceARN=throughputs[0], tags=[{"key": "stage", "value": "prod"}])
    caller.ok("UntagResource", resourceARN=throughputs[0], tagKeys=["team"])
    tags = caller.ok("ListTagsForResource", resourceARN=throughputs[0]).get("tags")
    if tags != [{"key": "stage", "value": "prod"}]:
        problem(f"ListTagsForResource of a Provisioned Throughput: {tags}")

    # Errors: validation, not found, conflict, each with its documented code and status.
    caller.error(
        "CreateCustomModel",
        "ValidationException",
        modelName="bad name",
        modelSourceConfig={"s3DataSource": {"s3Uri": S3_URI}},
        roleArn=ROLE_ARN,
    )
    caller.error("CreateCustomModelDeployment", "ValidationException", modelDeploymentName="bad name", modelArn=models[0])
    caller.error("CreateCustomModelDeployment", "ValidationException", modelDeploymentName="crosscheck-deployment-1", modelArn=models[0])
    caller.error("ListCustomModels", "ValidationException", sortOrder="Ascending", nextToken="not-a-token")
    caller.error("ListCustomModelDeployments", "ValidationException", nextToken="not-a-token")
    caller.error("GetCustomModel", "ResourceNotFoundException", modelIdentifier="no-such-model")
    caller.error("GetCustomModelDeployment", "ResourceNotFoundException", customModelDeploymentIdentifier="no-such-deployment")
    caller.error("UpdateCustomModelDeployment", "ResourceNotFoundException", customModelDeploymentIdentifier="no-such-deployment", modelArn=models[1])
    caller.error("DeleteCustomModelDeployment", "ResourceNotFoundException", customModelDeploymentIdentifier="no-such-deployment")
    caller.error("ListTagsForResource", "ResourceNotFoundException", resourceARN=deployments[0][:-12] + "zzzzzzzzzzzz")
    caller.error(
        "CreateCustomModel",
        "ConflictException",
        modelName="crosscheck-model-2",
        modelSourceConfig={"s3DataSource": {"s3Uri": S3_URI}},
        roleArn=ROLE_ARN,
        clientRequestToken="another-token",
    )
    caller.error("CreateProvisionedModelThroughput", "ValidationException", provisionedModelName="bad name", modelUnits=1, modelId=models[0])
    caller.error("CreateProvisionedModelThroughput", "ValidationException", provisionedModelName="crosscheck-pt-1", modelUnits=1, modelId=models[0])
    caller.error("CreateProvisionedModelThroughput", "ResourceNotFoundException", provisionedModelName="orphan", modelUnits=1, modelId="no-such-model")
    caller.error("CreateProvisionedModelThroughput", "ServiceQuotaExceededException", provisionedModelName="greedy", modelUnits=100, modelId=models[0])
    caller.error("GetProvisionedModelThroughput", "ResourceNotFoundException", provisionedModelId="no-such-throughput")
    caller.error("ListProvisionedModelThroughputs", "ValidationException", nextToken="not-a-token")
    caller.error("UpdateProvisionedModelThroughput", "ResourceNotFoundException", provisionedModelId="no-such-throughput", desiredProvisionedModelName="x")
    caller.error("UpdateProvisionedModelThroughput", "ValidationException", provisionedModelId=throughputs[2], desiredModelId=models[0])
    caller.error("DeleteProvisionedModelThroughput", "ResourceNotFoundException", provisionedModelId="no-such-throughput")
    committed = caller.error("DeleteProvisionedModelThroughput", "ConflictException", provisionedModelId=throughputs[1])
    if committed is not None and "commitment" not in committed.response["Error"].get("Message", ""):
        problem(f"DeleteProvisionedModelThroughput during the commitment: {committed}")
    held = caller.error("DeleteCustomModel", "ConflictException", modelIdentifier=models[2])
    if held is not None and "Provisioned Throughput" not in held.response["Error"].get("Message", ""):
        problem(f"DeleteCustomModel of a model a Provisioned Throughput serves: {held}")
    caller.error("DeleteCustomModel", "ConflictException", modelIdentifier=models[0])
    caller.error("DeleteCustomModel", "ConflictException", modelIdentifier=models[1])

    # Model imports: jobs complete at once (import delay 0); a marked S3 URI fails.
    caller.ok(
        "CreateModelImportJob",
        jobName="crosscheck-import-failed",
        importedModelName="crosscheck-never",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": "s3://bucket/force-failure/"}},
    )
    job_arns = []
    for index in range(2):
        created = caller.ok(
            "CreateModelImportJob",
            jobName=f"crosscheck-import-{index}",
            importedModelName=f"crosscheck-imported-{index}",
            roleArn=ROLE_ARN,
            modelDataSource={"s3DataSource": {"s3Uri": S3_URI}},
            jobTags=[{"key": "team", "value": "ml"}],
            importedModelTags=[{"key": "owner", "value": "crosscheck"}],
            clientRequestToken=f"import-token-{index}",
            vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
            importedModelKmsKeyId="1234abcd-12ab-34cd-56ef-1234567890ab",
        )
        job_arns.append(created.get("jobArn"))
    replay = caller.ok(
        "CreateModelImportJob",
        jobName="crosscheck-import-0",
        importedModelName="crosscheck-imported-0",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": S3_URI}},
        jobTags=[{"key": "team", "value": "ml"}],
        importedModelTags=[{"key": "owner", "value": "crosscheck"}],
        clientRequestToken="import-token-0",
        vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
        importedModelKmsKeyId="1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    if replay.get("jobArn") != job_arns[0]:
        problem(f"CreateModelImportJob replay: {replay.get('jobArn')} != {job_arns[0]}")
    failed = caller.ok("GetModelImportJob", jobIdentifier="crosscheck-import-failed")
    if failed.get("status") != "Failed" or not failed.get("failureMessage") or failed.get("importedModelArn"):
        problem(f"GetModelImportJob of a failed import: {failed}")
    imported = []
    for arn in job_arns:
        job = caller.ok("GetModelImportJob", jobIdentifier=arn)
        if job.get("status") != "Completed" or not job.get("importedModelArn"):
            problem(f"GetModelImportJob of a completed import: {job}")
        if job.get("vpcConfig", {}).get("subnetIds") != ["subnet-1"]:
            problem(f"GetModelImportJob vpcConfig: {job.get('vpcConfig')}")
        if not isinstance(job.get("endTime"), datetime.datetime):
            problem(f"GetModelImportJob endTime: {job.get('endTime')!r}")
        imported.append(job.get("importedModelArn"))
    caller.ok("GetModelImportJob", jobIdentifier="crosscheck-import-1")
    names, pages = paginate(caller, "ListModelImportJobs", "modelImportJobSummaries", "jobName", sortOrder="Ascending")
    if names != ["crosscheck-import-failed", "crosscheck-import-0", "crosscheck-import-1"] or pages != 2:
        problem(f"ListModelImportJobs pages: {names} in {pages} page(s)")
    filtered = caller.ok("ListModelImportJobs", statusEquals="Failed", nameContains="crosscheck", sortBy="CreationTime")
    if [s.get("jobName") for s in filtered.get("modelImportJobSummaries", [])] != ["crosscheck-import-failed"]:
        problem(f"ListModelImportJobs filters: {filtered.get('modelImportJobSummaries')}")
    model = caller.ok("GetImportedModel", modelIdentifier="crosscheck-imported-0")
    if model.get("modelArn") != imported[0] or model.get("customModelUnits", {}).get("customModelUnitsPerModelCopy") is None:
        problem(f"GetImportedModel: {model}")
    if not str(model.get("modelKmsKeyArn", "")).endswith(":key/1234abcd-12ab-34cd-56ef-1234567890ab"):
        problem(f"GetImportedModel modelKmsKeyArn: {model.get('modelKmsKeyArn')}")
    caller.ok("GetImportedModel", modelIdentifier=imported[1])
    names, pages = paginate(caller, "ListImportedModels", "modelSummaries", "modelName", sortOrder="Descending")
    if names != ["crosscheck-imported-1", "crosscheck-imported-0"]:
        problem(f"ListImportedModels: {names}")
    filtered = caller.ok("ListImportedModels", nameContains="imported-1", sortBy="CreationTime")
    if [s.get("modelName") for s in filtered.get("modelSummaries", [])] != ["crosscheck-imported-1"]:
        problem(f"ListImportedModels filters: {filtered.get('modelSummaries')}")
    for arn, expected in ((job_arns[0], {"team": "ml"}), (imported[0], {"owner": "crosscheck"})):
        caller.ok("TagResource", resourceARN=arn, tags=[{"key": "stage", "value": "test"}])
        tags = caller.ok("ListTagsForResource", resourceARN=arn).get("tags", [])
        if {t["key"]: t["value"] for t in tags} != dict(expected, stage="test"):
            problem(f"tags of {arn}: {tags}")
        caller.ok("UntagResource", resourceARN=arn, tagKeys=["stage"])
    caller.error(
        "CreateModelImportJob",
        "ConflictException",
        jobName="crosscheck-import-0",
        importedModelName="crosscheck-other",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": S3_URI}},
    )
    caller.error(
        "CreateModelImportJob",
        "ValidationException",
        jobName="crosscheck-import-9",
        importedModelName="crosscheck-imported-9",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": S3_URI}},
        clientRequestToken="import-token-0",
    )
    caller.error(
        "CreateModelImportJob",
        "ServiceQuotaExceededException",
        jobName="crosscheck-import-3",
        importedModelName="crosscheck-imported-3",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": S3_URI}},
    )
    caller.error("GetModelImportJob", "ResourceNotFoundException", jobIdentifier="no-such-job")
    caller.error("GetImportedModel", "ValidationException", modelIdentifier="not.a.name")
    # A model still in use: DeleteImportedModel refuses it (a scripted ConflictException).
    conflict_path = "/delete-conflicts/" + urllib.parse.quote(imported[0], safe="")
    control("PUT", conflict_path, {"message": "The model is in use."})
    refused = caller.error("DeleteImportedModel", "ConflictException", modelIdentifier=imported[0])
    if refused is not None and refused.response["Error"].get("Message") != "The model is in use.":
        problem(f"DeleteImportedModel of a model in use: {refused}")
    control("DELETE", conflict_path)
    for arn in imported:
        caller.ok("DeleteImportedModel", modelIdentifier=arn)
    caller.error("GetImportedModel", "ResourceNotFoundException", modelIdentifier=imported[0])
    caller.error("DeleteImportedModel", "ResourceNotFoundException", modelIdentifier="crosscheck-imported-1")

    # bedrock-runtime: Converse and InvokeModel on a deployment and a Provisioned Throughput,
    # answered from the served model's script; then the documented errors.
    runtime = Caller(
        session.create_client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=ENDPOINT,
            aws_access_key_id="AKIDTEST",
            aws_secret_access_key="secret",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
    )
    served = control("GET", "/deployments/" + urllib.parse.quote(deployments[0], safe=""))["modelArn"]
    script_path = "/model-scripts/" + urllib.parse.quote(served, safe="")
    control("PUT", script_path, {"behaviour": "answer", "text": "crosscheck answer"})
    messages = [{"role": "user", "content": [{"text": "hello there"}]}]
    answer = runtime.ok("Converse", modelId=deployments[0], messages=messages, inferenceConfig={"maxTokens": 32})
    content = answer.get("output", {}).get("message", {}).get("content", [{}])
    if content[0].get("text") != "crosscheck answer":
        problem(f"Converse: answered {answer.get('output')}, the script says 'crosscheck answer'")
    invoked = runtime.ok(
        "InvokeModel",
        modelId=throughputs[0],
        body=json.dumps({"messages": messages}),
        contentType="application/json",
        accept="application/json",
    )
    payload = invoked.get("body", b"")
    payload = payload.read() if hasattr(payload, "read") else payload
    try:
        if not json.loads(payload)["output"]["message"]["content"][0]["text"]:
            problem(f"InvokeModel: an empty answer in {payload!r}")
    except (ValueError, KeyError, IndexError, TypeError):
        problem(f"InvokeModel: the body is not the model's JSON answer: {payload!r}")
    if invoked.get("contentType") != "application/json":
        problem(f"InvokeModel: contentType {invoked.get('contentType')!r}")
    missing_deployment = deployments[0][:-12] + "zzzzzzzzzzzz"
    runtime.error("Converse", "ResourceNotFoundException", modelId=missing_deployment, messages=messages)
    runtime.error("Converse", "ValidationException", modelId=deployments[0])
    runtime.error("InvokeModel", "ValidationException", modelId=deployments[0], body=b"not json")
    control("PUT", script_path, {"behaviour": "error", "message": "The model failed."})
    runtime.error("InvokeModel", "ModelErrorException", modelId=deployments[0], body=json.dumps({"messages": messages}))
    control("DELETE", script_path)
    logged = [entry["operation"] for entry in control("GET", "/invocations")]
    if logged != ["Converse", "InvokeModel", "Converse", "Converse", "InvokeModel", "InvokeModel"]:
        problem(f"the invocation log holds {logged}")

    # Clean up: Provisioned Throughputs (once the commitment term is over) and deployments first,
    # then the models they held.
    control("POST", "/clock", {"advanceSeconds": 32 * 24 * 60 * 60})
    for arn in throughputs:
        caller.ok("DeleteProvisionedModelThroughput", provisionedModelId=arn)
    for arn in deployments:
        caller.ok("DeleteCustomModelDeployment", customModelDeploymentIdentifier=arn)
    for arn in models:
        caller.ok("DeleteCustomModel", modelIdentifier=arn)
    if control("GET", "/deployments") or control("GET", "/models") or control("GET", "/provisioned-throughputs") or control("GET", "/imported-models"):
        problem("something was left behind in the emulator")

    missing = [name for name in caller.model.operation_names if name in EMULATED and calls[name]["Ok"] == 0]
    missing += [name for name in runtime.model.operation_names if name in EMULATED_RUNTIME and calls[name]["Ok"] == 0]
    if missing:
        problem(f"never called successfully: {missing}")
    print("SUMMARY " + json.dumps({name: dict(outcomes) for name, outcomes in sorted(calls.items())}, sort_keys=True))
    if problems:
        print(f"{len(problems)} problem(s):")
        for text in problems:
            print(f"  - {text}")
        return 1
    total = sum(sum(outcomes.values()) for outcomes in calls.values())
    print(f"OK: {total} calls over {len(calls)} operations, every response as the service model has it")
    return 0


EMULATED = {
    "CreateCustomModel",
    "GetCustomModel",
    "ListCustomModels",
    "DeleteCustomModel",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateCustomModelDeployment",
    "GetCustomModelDeployment",
    "ListCustomModelDeployments",
    "UpdateCustomModelDeployment",
    "DeleteCustomModelDeployment",
    "CreateProvisionedModelThroughput",
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "UpdateProvisionedModelThroughput",
    "DeleteProvisionedModelThroughput",
    "CreateModelImportJob",
    "GetModelImportJob",
    "ListModelImportJobs",
    "GetImportedModel",
    "ListImportedModels",
    "DeleteImportedModel",
}

EMULATED_RUNTIME = {
    "Converse",
    "InvokeModel",
}

if __name__ == "__main__":
    sys.exit(main())
