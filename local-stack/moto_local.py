#!/usr/bin/env python3
"""moto server (pinned 5.2.5) with what vmpush needs that moto lacks.

    python moto_local.py --port 5000 [--log requests.jsonl]

Runs moto in-process with:

* Step Functions that really execute ASL (moto's config ``stepfunctions.execute_state_machine``).
* Lambda invokes (direct, from Step Functions tasks, from S3 notifications) forwarded to
  ``cargo lambda watch``'s Invoke API (``LAMBDA_FORWARD_URL``), so the Rust functions run
  unmodified. S3 -> Lambda notifications are asynchronous, as in AWS. Every invocation is kept
  for tests (``GET /_local/invocations``).
* EC2 gaps filled:
  - ``ImportSnapshot`` (``DiskContainer`` Format/UserBucket, ``TagSpecifications`` on the
    ``import-snapshot-task``, ``ClientToken`` idempotency) and ``DescribeImportSnapshotTasks``
    (by id, ``tag:<key>`` / ``tag-key`` filters): ``active`` -> ``completed`` over
    ``IMPORT_SNAPSHOT_POLLS`` describe calls, then a real moto snapshot sized from the S3
    object; a missing object ends ``deleted`` with a ``StatusMessage``.
  - ``RegisterImage`` keeps what moto drops (architecture, virtualization, root device, boot
    mode, ENA, SR-IOV, TPM, IMDS, billing products, block device mappings pointing at the given
    snapshot, ``TagSpecifications``) and refuses a duplicate name (``InvalidAMIName.Duplicate``).
  - ``ModifySnapshotAttribute`` honours the ``CreateVolumePermission.Add/Remove`` form.
  - ``Get/Enable/DisableImageBlockPublicAccess`` (per region; ``unblocked`` by default), and
    ``ModifyImageAttribute`` refusing a public grant where the region blocks public sharing.
* S3 ``ListParts`` answers with AWS's root element ``ListPartsResult`` (moto 5.2.5 writes
  ``ListPartsResponse``, which the AWS SDKs for Rust and Go refuse).
* S3 ``UploadPartCopy`` honours ``x-amz-copy-source-if-match`` (412 when the source's ETag
  differs), which moto ignores.
* S3 object tags: only keys starting ``aws:`` are reserved, as in AWS (moto refuses any key
  starting ``aws``, so awspub's ``awspub:source:*`` tags).
* API Gateway REST APIs answer at ``/restapis/<id>/<stage>/_user_request_/<path>`` (as
  LocalStack's URLs): AWS_PROXY Lambda integrations get API Gateway's REST proxy event, their
  proxy response becomes the answer; ``AWS_IAM`` methods refuse requests without a SigV4
  ``Authorization`` scoped to ``execute-api`` in the API's region (signatures are not checked).
* Step Functions' service integrations as AWS runs them: ``states:startExecution`` (``.sync``,
  ``.sync:2``) takes AWS's parameter names (``StateMachineArn``, ``Name``, ``Input``; moto
  passed them to boto3 as they are, which refused them) and answers AWS's (``ExecutionArn``,
  ``StartDate``, ``Output``...); ``aws-sdk:s3:getObject`` answers its ``Body`` as text (moto
  left a stream the state could not hold); a waited-for execution is polled every 2 s. These
  calls sign with moto's internal key ``ak``: it is known, the request log marks them
  ``"by": "states"``, and injected faults spare its ``states`` calls (following an execution is
  no API call AWS throttles; its S3 calls draw faults as any).
* ``MOTO_EC2_LOAD_DEFAULT_AMIS=false``.
* Unknown access keys are refused, as AWS refuses them (``AuthFailure``, ``InvalidAccessKeyId``,
  ``InvalidClientTokenId``, ``UnrecognizedClientException``): with ``MOTO_KNOWN_ACCESS_KEYS``
  set (the stack's own keys), an EC2, S3 or STS request signed with any other key than those
  and the keys of the accounts' IAM users and assumed roles fails (moto alone would act in its default
  account). Signatures are not checked.
* A request log (service, region, action, key parameters, status) for call counting:
  ``GET /_local/requests`` (and the JSONL file given with ``--log``).
* Seeded fault injection: ``POST /_local/faults {"rate", "seed", "kinds": ["throttle", "5xx",
  "denied"], "services": [...], "regions": [...], "actions": [...]}`` (or ``MOTO_FAULT_RATE`` /
  ``MOTO_FAULT_SEED``), answered in each protocol's own error format (``RequestLimitExceeded``,
  ``Throttling``, ``ThrottlingException``, ``UnauthorizedOperation``,
  ``SlowDown``; ``InternalError`` for 5xx).
* Function kills for the chaos harness: ``POST /_local/kills {"rules": [{"function",
  "match", "when": "before" | "after", "count", "error"}]}`` kills matching invokes before the
  function runs or after it ran (its answer lost), answering ``Lambda.ServiceException``.
* ``POST /_local/reset`` wipes moto and the launcher's own state; ``GET /_local/health``.

It relies on moto internals, hence the pin.
"""
import argparse
import base64
import datetime
import io
import json
import math
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, unquote, urlparse

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto.core.config import default_user_config  # noqa: E402

default_user_config["stepfunctions"] = {"execute_state_machine": True}

from moto.awslambda import models as lambda_models  # noqa: E402
from moto.core.responses import ActionResult, EmptyResult  # noqa: E402
from moto.ec2.exceptions import EC2ClientError  # noqa: E402
from moto.ec2.models.amis import Ami, AmiBackend  # noqa: E402
from moto.ec2.responses import EC2Response  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from moto.s3 import notifications as s3_notifications  # noqa: E402
from moto.s3 import models as s3_models  # noqa: E402
from moto.s3.exceptions import BadRequest, InvalidTagError, PreconditionFailed  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: E402
    state_task_service_aws_sdk as sfn_aws_sdk,
    state_task_service_callback as sfn_callback,
    state_task_service_sfn as sfn_states,
)
from werkzeug.serving import run_simple  # noqa: E402

_LOCK = threading.RLock()
_STATE = {
    "import_tasks": {},  # (account, region, task id) -> task
    "billing_products": {},  # region -> {ami id: [codes]}
    "block_public_access": {},  # (account, region) -> "block-new-sharing" | "unblocked"
    "invocations": [],
    "requests": [],
}
_CONFIG = {"import_snapshot_polls": int(os.environ.get("IMPORT_SNAPSHOT_POLLS", "2"))}


# ---------------------------------------------------------------------------------------------
# Lambda: forward invokes to `cargo lambda watch`
# ---------------------------------------------------------------------------------------------
FORWARD = os.environ.get("LAMBDA_FORWARD_URL", "http://127.0.0.1:9000").rstrip("/")
FORWARD_TIMEOUT = float(os.environ.get("LAMBDA_FORWARD_TIMEOUT", "900"))  # a first invoke compiles
NAME_MAP = json.loads(os.environ.get("LAMBDA_FORWARD_MAP", "{}"))  # function name -> binary name


def _payload(body):
    try:
        return json.loads(body)
    except ValueError:
        return body


def _forwarded_invoke(self, event=None):
    if isinstance(event, bytes):
        body = event
    elif isinstance(event, str):
        body = event.encode()
    else:
        body = json.dumps(event or {}).encode()
    name = NAME_MAP.get(self.function_name, self.function_name)
    kill = KILLS.draw(name, _payload(body.decode("utf-8", "replace")))
    if kill and kill["when"] == "before":
        return _killed(self.function_name, body, kill)
    request = urllib.request.Request(
        f"{FORWARD}/2015-03-31/functions/{name}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    started = time.time()
    try:
        with urllib.request.urlopen(request, timeout=FORWARD_TIMEOUT) as response:
            result, error = response.read().decode(), False
    except urllib.error.HTTPError as e:  # cargo-lambda answers a handler error with HTTP 500
        result, error = e.read().decode(), True
        if not isinstance(_payload(result), dict):
            # no error document: the runtime, not the handler, failed; Lambda calls that a
            # service error, which callers retry
            result = json.dumps(
                {
                    "errorType": "Lambda.ServiceException",
                    "errorMessage": f"cargo lambda watch answered HTTP {e.code}: {_short(result)!r}",
                }
            )
    except Exception as e:  # noqa: BLE001 - a transport failure is a service error, as in Lambda
        result = json.dumps({"errorType": "Lambda.ServiceException", "errorMessage": f"{type(e).__name__}: {e}"})
        error = True
    if kill:
        return _killed(self.function_name, body, kill, ran=_payload(result), started=started)
    with _LOCK:
        _STATE["invocations"].append(
            {
                "function": self.function_name,
                "payload": _payload(body.decode("utf-8", "replace")),
                "error": error,
                "result": _payload(result),
                "ms": round((time.time() - started) * 1000, 1),
            }
        )
    return result, error, ""


class Kills:
    """Function kills for the chaos harness (``POST /_local/kills {"rules": [...]}``). A rule
    ``{"function": "vmpush-publish", "match": {"action": "share"}, "when": "before" | "after",
    "count": 1, "error": "Lambda.ServiceException"}`` kills the first ``count`` invokes of the
    function (its binary's name) whose event holds every field of ``match``: ``before`` it
    runs (it never sees the event) or ``after`` it ran (its answer is lost). Lambda answers
    ``error`` (by default ``Lambda.ServiceException``, which the state machine retries)."""

    def __init__(self):
        self.rules = []

    def configure(self, config):
        self.rules = [dict(rule) for rule in config.get("rules") or []]

    def draw(self, function, payload):
        with _LOCK:
            for rule in self.rules:
                if rule.get("function") != function or int(rule.get("count", 1)) <= 0:
                    continue
                if _holds(payload, rule.get("match") or {}):
                    rule["count"] = int(rule.get("count", 1)) - 1
                    return {"when": rule.get("when", "before"), "error": rule.get("error", "Lambda.ServiceException")}
        return None


def _holds(value, expected):
    """Whether `value` holds every field of `expected` (recursively for objects; a field
    expected as ``{"$present": true}`` only has to be there, one expected as
    ``{"$present": false}`` must not be)."""
    if isinstance(expected, dict) and expected.get("$present") is True:
        return True
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            return False
        for k, v in expected.items():
            if isinstance(v, dict) and v.get("$present") is False:
                if k in value:
                    return False
            elif k not in value or not _holds(value[k], v):
                return False
        return True
    return value == expected


def _killed(function, body, kill, ran=None, started=None):
    """The answer of a killed invoke, recorded with what the function answered if it ran."""
    result = json.dumps(
        {"errorType": kill["error"], "errorMessage": f"the function was killed {kill['when']} it answered (injected)"}
    )
    with _LOCK:
        _STATE["invocations"].append(
            {
                "function": function,
                "payload": _payload(body.decode("utf-8", "replace")),
                "error": True,
                "result": _payload(result),
                "killed": kill["when"],
                "ran": ran,
                "ms": round((time.time() - started) * 1000, 1) if started else 0,
            }
        )
    return result, True, ""


KILLS = Kills()


lambda_models.LambdaFunction._invoke_lambda = _forwarded_invoke
lambda_models.LambdaFunction.docker_client = property(lambda self: None)  # keeps data.json working

# ---------------------------------------------------------------------------------------------
# S3: ListParts with AWS's root element
# ---------------------------------------------------------------------------------------------
_orig_list_parts = S3Response.list_parts


def _list_parts(self):
    status, headers, body = _orig_list_parts(self)
    if isinstance(body, bytes):
        body = body.replace(b"ListPartsResponse", b"ListPartsResult")
    elif isinstance(body, str):
        body = body.replace("ListPartsResponse", "ListPartsResult")
    return status, headers, body


S3Response.list_parts = _list_parts

_orig_upload_part_copy = S3Response.upload_part_copy


def _upload_part_copy(self):
    """moto's own, with S3's ``x-amz-copy-source-if-match``: a source whose ETag differs is
    412 PreconditionFailed (moto ignores the header)."""
    wanted = self.headers.get("x-amz-copy-source-if-match")
    if wanted:
        source = urlparse(self.headers.get("x-amz-copy-source", ""))
        src_bucket, src_key = unquote(source.path).lstrip("/").split("/", 1)
        key = self.backend.get_object(src_bucket, src_key)
        if key is not None and wanted.strip('"') != key.etag.strip('"'):
            raise PreconditionFailed("x-amz-copy-source-If-Match")
    return _orig_upload_part_copy(self)


S3Response.upload_part_copy = _upload_part_copy


def _put_object_tagging(self, key, tags):
    """moto's own, with AWS's reserved prefix ``aws:`` instead of any key starting ``aws``."""
    bucket = self.get_bucket(key.bucket_name)
    tags_input = self.tagger.convert_dict_to_tags_input(tags)
    if tags:
        if len(tags_input) > 10:
            raise BadRequest("Object tags cannot be greater than 10")
        if any(tagkey.startswith("aws:") for tagkey in tags.keys()):
            raise InvalidTagError("Your TagKey cannot be prefixed with aws:")
    errmsg = self.tagger.validate_tags(tags_input)
    if errmsg:
        raise InvalidTagError(errmsg)
    self.tagger.delete_all_tags_for_resource(key.arn)
    self.tagger.tag_resource(key.arn, tags_input)
    s3_notifications.send_event(
        self.account_id, s3_notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT, bucket, key
    )
    return key


s3_models.S3Backend.put_object_tagging = _put_object_tagging

_orig_get_s3_event = s3_notifications._get_s3_event


def _complete_s3_event(event_name, bucket, key, notification_id):
    """S3's notification as AWS sends it: moto leaves out the identity, request and response
    elements and writes the time without its zone; typed consumers (aws_lambda_events) need
    them."""
    event = _orig_get_s3_event(event_name, bucket, key, notification_id)
    now = datetime.datetime.now(datetime.timezone.utc)
    for record in event["Records"]:
        record["eventTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        record["userIdentity"] = {"principalId": f"AWS:{bucket.account_id}"}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                      "x-amz-id-2": uuid.uuid4().hex}
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": bucket.account_id}
        record["s3"]["object"]["sequencer"] = f"{int(now.timestamp() * 1e6):016X}"
    return event


s3_notifications._get_s3_event = _complete_s3_event

_orig_invoke_awslambda = s3_notifications._invoke_awslambda


def _async_invoke_awslambda(*args, **kwargs):  # S3 -> Lambda is an asynchronous invoke in AWS
    threading.Thread(target=_orig_invoke_awslambda, args=args, kwargs=kwargs, daemon=True).start()


s3_notifications._invoke_awslambda = _async_invoke_awslambda


# ---------------------------------------------------------------------------------------------
# EC2: ImportSnapshot / DescribeImportSnapshotTasks
# ---------------------------------------------------------------------------------------------
IMPORT_FORMATS = ("RAW", "VHD", "VMDK")


def _tags_of(spec_list, resource_type):
    tags = []
    for spec in spec_list or []:
        if spec.get("ResourceType") == resource_type:
            tags.extend({"Key": t.get("Key"), "Value": t.get("Value", "")} for t in spec.get("Tags") or [])
    return tags


def _s3_object_size(account, region, bucket, key):
    from moto.s3.models import s3_backends

    try:
        obj = s3_backends[account][get_partition(region)].get_object(bucket, key)
    except Exception:  # noqa: BLE001 - NoSuchBucket / NoSuchKey: the task fails, not the call
        return None
    return None if obj is None else obj.size


def _task_view(task):
    detail = {
        "Description": task["Description"],
        "DiskImageSize": float(task["Size"] or 0),
        "Format": task["Format"],
        "UserBucket": {"S3Bucket": task["Bucket"], "S3Key": task["Key"]},
        "Status": task["Status"],
    }
    if task["Status"] == "active":
        detail.update(StatusMessage=task["StatusMessage"], Progress=task["Progress"])
    elif task["Status"] == "completed":
        detail["SnapshotId"] = task["SnapshotId"]
    else:
        detail["StatusMessage"] = task["StatusMessage"]
    return {
        "ImportTaskId": task["ImportTaskId"],
        "Description": task["Description"],
        "SnapshotTaskDetail": detail,
        "Tags": list(task["Tags"]),
    }


def import_snapshot(self):
    self.error_on_dryrun()
    disk = self._get_param("DiskContainer", {}) or {}
    user_bucket = disk.get("UserBucket") or {}
    fmt = str(disk.get("Format") or "RAW").upper()
    if fmt not in IMPORT_FORMATS:
        raise EC2ClientError("InvalidParameter", f"Unsupported disk format {fmt} (VHD, VMDK or RAW)")
    bucket, key = user_bucket.get("S3Bucket"), user_bucket.get("S3Key")
    if not bucket or not key:
        raise EC2ClientError("InvalidParameter", "DiskContainer.UserBucket needs S3Bucket and S3Key")
    token = self._get_param("ClientToken")
    with _LOCK:
        if token:
            for (acct, region, _), task in _STATE["import_tasks"].items():
                if (acct, region) == (self.current_account, self.region) and task["ClientToken"] == token:
                    return ActionResult(_task_view(task))
        task_id = "import-snap-" + uuid.uuid4().hex[:17]
        task = {
            "ImportTaskId": task_id,
            "Description": self._get_param("Description") or "",
            "Bucket": bucket,
            "Key": key,
            "Format": fmt,
            "Size": _s3_object_size(self.current_account, self.region, bucket, key),
            "Status": "active",
            "StatusMessage": "pending",
            "Progress": "0",
            "Tags": _tags_of(self._get_param("TagSpecifications", []), "import-snapshot-task"),
            "ClientToken": token,
            "polls": 0,
        }
        _STATE["import_tasks"][(self.current_account, self.region, task_id)] = task
    return ActionResult(_task_view(task))


def _advance(backend, account, region, task):
    if task["Status"] != "active":
        return
    task["polls"] += 1
    polls = _CONFIG["import_snapshot_polls"]
    if task["polls"] < polls:
        task["StatusMessage"] = "converting"
        task["Progress"] = str(int(100 * task["polls"] / polls))
        return
    size = _s3_object_size(account, region, task["Bucket"], task["Key"])
    if size is None:
        task["Status"] = "deleted"
        task["StatusMessage"] = (
            f"ClientError: Disk validation failed [Unable to read the disk image s3://{task['Bucket']}/{task['Key']}]"
        )
        return
    volume = backend.create_volume(size=max(1, math.ceil(size / float(1 << 30))), zone_name=f"{region}a")
    snapshot = backend.create_snapshot(volume.id, f"Created by AWS-VMImport service for {task['ImportTaskId']}")
    backend.delete_volume(volume.id)
    task.update(Status="completed", Size=size, SnapshotId=snapshot.id)


def _matches(task, filters):
    tags = {t["Key"]: t["Value"] for t in task["Tags"]}
    for f in filters:
        name, values = f.get("Name", ""), f.get("Values") or []
        if name.startswith("tag:"):
            if tags.get(name[4:]) not in values:
                return False
        elif name == "tag-key":
            if not any(k in tags for k in values):
                return False
        elif name == "task-state":
            if task["Status"] not in values:
                return False
        else:
            raise EC2ClientError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return True


def describe_import_snapshot_tasks(self):
    self.error_on_dryrun()
    ids = self._get_param("ImportTaskIds", []) or []
    filters = self._get_param("Filters", []) or []
    out = []
    with _LOCK:
        for (acct, region, task_id), task in _STATE["import_tasks"].items():
            if (acct, region) != (self.current_account, self.region):
                continue
            if ids and task_id not in ids:
                continue
            if not _matches(task, filters):
                continue
            _advance(self.ec2_backend, acct, region, task)
            out.append(_task_view(task))
    return ActionResult({"ImportSnapshotTasks": out})


# ---------------------------------------------------------------------------------------------
# EC2: RegisterImage keeps what moto drops
# ---------------------------------------------------------------------------------------------
def register_image(self):
    self.error_on_dryrun()
    name = self._get_param("Name")
    backend = self.ec2_backend
    for existing in backend.amis.values():
        if existing.name == name and existing.owner_id == self.current_account and existing.state != "deregistered":
            raise EC2ClientError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {existing.id}")
    bdms = self._get_param("BlockDeviceMappings", []) or []
    root = self._get_param("RootDeviceName") or "/dev/sda1"
    root_snapshot = None
    for mapping in bdms:
        snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
        if snapshot_id:
            if snapshot_id not in backend.snapshots:
                raise EC2ClientError("InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist.")
            if mapping.get("DeviceName") == root or root_snapshot is None:
                root_snapshot = backend.snapshots[snapshot_id]
    ami = backend.register_image(name, self._get_param("Description", ""))
    ami.architecture = self._get_param("Architecture") or "x86_64"
    ami.virtualization_type = self._get_param("VirtualizationType") or "hvm"
    ami.root_device_name = root
    ami.root_device_type = "ebs"
    ami.boot_mode = self._get_param("BootMode")
    ena = self._get_param("EnaSupport")
    ami.ena_support = None if ena is None else str(ena).lower() == "true"
    ami.sriov = ami.sriov_net_support = self._get_param("SriovNetSupport")
    ami.tpm_support = self._get_param("TpmSupport")
    ami.imds_support = self._get_param("ImdsSupport")
    if root_snapshot is not None:
        auto = ami.ebs_snapshot
        ami.ebs_snapshot = root_snapshot
        if auto is not None and auto.id != root_snapshot.id:
            backend.snapshots.pop(auto.id, None)
    ami._local_bdms = bdms
    billing = list(self._get_param("BillingProducts", []) or [])
    ami.billing_products = billing
    with _LOCK:
        _STATE["billing_products"].setdefault(self.region, {})[ami.id] = billing
    specs = self._get_param("TagSpecifications", []) or []
    image_tags = {t["Key"]: t["Value"] for t in _tags_of(specs, "image")}
    if image_tags:
        backend.create_tags([ami.id], image_tags)
    snapshot_tags = {t["Key"]: t["Value"] for t in _tags_of(specs, "snapshot")}
    if snapshot_tags and root_snapshot is not None:
        backend.create_tags([root_snapshot.id], snapshot_tags)
    return ActionResult({"ImageId": ami.id})


_orig_block_device_mappings = Ami.block_device_mappings


def _block_device_mappings(self):
    bdms = getattr(self, "_local_bdms", None)
    if not bdms:
        return _orig_block_device_mappings.fget(self)
    out = []
    for mapping in bdms:
        ebs = dict(mapping.get("Ebs") or {})
        snapshot = self.ec2_backend.snapshots.get(ebs.get("SnapshotId")) if ebs.get("SnapshotId") else None
        if snapshot is not None and "VolumeSize" not in ebs:
            ebs["VolumeSize"] = snapshot.volume.size
        if "DeleteOnTermination" in ebs:
            ebs["DeleteOnTermination"] = str(ebs["DeleteOnTermination"]).lower() == "true"
        entry = {"DeviceName": mapping.get("DeviceName")}
        if ebs:
            entry["Ebs"] = ebs
        if mapping.get("VirtualName"):
            entry["VirtualName"] = mapping["VirtualName"]
        out.append(entry)
    return out


Ami.block_device_mappings = property(_block_device_mappings)

# ---------------------------------------------------------------------------------------------
# EC2: ModifySnapshotAttribute (CreateVolumePermission form), image block public access
# ---------------------------------------------------------------------------------------------
_orig_modify_snapshot_attribute = EC2Response.modify_snapshot_attribute


def modify_snapshot_attribute(self):
    permission = self._get_param("CreateVolumePermission", {}) or {}
    if not permission or self._get_param("OperationType"):
        return _orig_modify_snapshot_attribute(self)
    self.error_on_dryrun()
    snapshot_id = self._get_param("SnapshotId")
    backend = self.ec2_backend
    for key, change in (("Add", backend.add_create_volume_permission), ("Remove", backend.remove_create_volume_permission)):
        entries = permission.get(key) or []
        if entries:
            change(
                snapshot_id,
                user_ids=[e["UserId"] for e in entries if e.get("UserId")],
                groups=[e["Group"] for e in entries if e.get("Group")],
            )
    return EmptyResult()


def _bpa_key(self):
    return (self.current_account, self.region)


def get_image_block_public_access_state(self):
    with _LOCK:
        state = _STATE["block_public_access"].get(_bpa_key(self), "unblocked")
    return ActionResult({"ImageBlockPublicAccessState": state})


def enable_image_block_public_access(self):
    state = self._get_param("ImageBlockPublicAccessState") or "block-new-sharing"
    with _LOCK:
        _STATE["block_public_access"][_bpa_key(self)] = state
    return ActionResult({"ImageBlockPublicAccessState": state})


_orig_modify_image_attribute = EC2Response.modify_image_attribute


def modify_image_attribute(self):
    """A public grant (``Group: all``) in a region blocking public sharing is refused, as EC2
    refuses any attempt to share an AMI publicly there; other grants go through."""
    adds = (self._get_param("LaunchPermission", {}) or {}).get("Add", []) or []
    public = any(p.get("Group") == "all" for p in adds) or (
        self._get_param("OperationType") == "add" and "all" in (self._get_param("UserGroups", []) or [])
    )
    with _LOCK:
        blocked = _STATE["block_public_access"].get(_bpa_key(self), "unblocked") == "block-new-sharing"
    if public and blocked:
        raise EC2ClientError(
            "OperationNotPermitted",
            "Public sharing of AMIs is blocked in this Region: image block public access is enabled",
        )
    return _orig_modify_image_attribute(self)


def disable_image_block_public_access(self):
    with _LOCK:
        _STATE["block_public_access"][_bpa_key(self)] = "unblocked"
    return ActionResult({"ImageBlockPublicAccessState": "unblocked"})


# ---------------------------------------------------------------------------------------------
# EC2: who may launch an AMI or restore a snapshot, as AWS answers it. moto counts a public AMI
# as executable by any account named in ExecutableUsers, and ignores DescribeSnapshots'
# RestorableByUserIds and OwnerIds; AWS returns, for an account id, only what is shared with
# that account explicitly, `all` for what is public, `self` for what the caller owns or was
# given.
# ---------------------------------------------------------------------------------------------
_orig_describe_images = AmiBackend.describe_images


def _users(values, account):
    return {account if v == "self" else v for v in values}


def _describe_images(self, ami_ids=None, filters=None, exec_users=None, owners=None):
    if ami_ids or not exec_users:
        return _orig_describe_images(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)
    images = _orig_describe_images(self, filters=filters, owners=owners)
    users = _users(exec_users, self.account_id)

    def executable(ami):
        explicit = any(lp.get("UserId") in users for lp in ami.launch_permissions)
        return explicit or ("all" in users and ami.is_public) or (self.account_id in users and ami.owner_id == self.account_id)

    return [ami for ami in images if executable(ami)]


def describe_snapshots(self):
    account = self.current_account
    snapshots = self.ec2_backend.describe_snapshots(
        snapshot_ids=self._get_param("SnapshotIds", []), filters=self._filters_from_querystring()
    )
    owners = _users(self._get_param("OwnerIds", []) or [], account)
    if owners:
        snapshots = [s for s in snapshots if s.owner_id in owners]
    restorable = _users(self._get_param("RestorableByUserIds", []) or [], account)
    if restorable:
        snapshots = [
            s
            for s in snapshots
            if s.create_volume_permission_userids & restorable
            or ("all" in restorable and "all" in s.create_volume_permission_groups)
            or (account in restorable and s.owner_id == account)
        ]
    return ActionResult({"Snapshots": snapshots})


AmiBackend.describe_images = _describe_images
EC2Response.describe_snapshots = describe_snapshots
EC2Response.import_snapshot = import_snapshot
EC2Response.describe_import_snapshot_tasks = describe_import_snapshot_tasks
EC2Response.register_image = register_image
EC2Response.modify_snapshot_attribute = modify_snapshot_attribute
EC2Response.get_image_block_public_access_state = get_image_block_public_access_state
EC2Response.enable_image_block_public_access = enable_image_block_public_access
EC2Response.disable_image_block_public_access = disable_image_block_public_access
EC2Response.modify_image_attribute = modify_image_attribute


# ---------------------------------------------------------------------------------------------
# API Gateway: invoking REST APIs whose methods are AWS_PROXY Lambda integrations
# ---------------------------------------------------------------------------------------------
_USER_REQUEST = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_(/.*)?$")
_FUNCTION_OF_URI = re.compile(r":lambda:path/2015-03-31/functions/(.+)/invocations$")


def _find_api(api_id):
    from moto.apigateway.models import apigateway_backends

    for account, regions in list(apigateway_backends.items()):
        for region, backend in list(regions.items()):
            if api_id in backend.apis:
                return account, region, backend.apis[api_id]
    return None


def _path_parameters(template, path):
    """The parameters of `path` under a resource path `template` (``/pushes/{id}``), or None."""
    want = [p for p in template.split("/") if p]
    have = [p for p in path.split("/") if p]
    params = {}
    for i, part in enumerate(want):
        if part.startswith("{") and part.endswith("+}"):
            if i >= len(have):
                return None
            params[part[1:-2]] = "/".join(have[i:])
            return params
        if i >= len(have):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(have[i])
        elif part != have[i]:
            return None
    return params if len(want) == len(have) else None


def _resource_for(api, path):
    """The resource a path selects (literal segments win over parameters) and its parameters."""
    found = []
    for resource in api.resources.values():
        params = _path_parameters(resource.get_path(), path)
        if params is not None:
            found.append((len(params), resource, params))
    if not found:
        return None, None
    found.sort(key=lambda f: f[0])
    return found[0][1], found[0][2]


def _api_answer(status, data, headers=None):
    return status, [("Content-Type", "application/json"), *(headers or [])], [json.dumps(data).encode()]


def api_request(environ, api_id, stage_name, path):
    """One request to a deployed stage: status, headers and body, as API Gateway answers it."""
    found = _find_api(api_id)
    if found is None or stage_name not in found[2].stages:
        return _api_answer(403, {"message": "Forbidden"}), None
    account, region, api = found
    method = environ.get("REQUEST_METHOD", "GET")
    resource, params = _resource_for(api, path)
    api_method = (resource.resource_methods.get(method) or resource.resource_methods.get("ANY")) if resource else None
    if api_method is None:
        return _api_answer(403, {"message": "Missing Authentication Token"}), None
    action = f"{method} {resource.get_path()}"
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = _CREDENTIAL.search(authorization)
    if api_method.authorization_type == "AWS_IAM":
        if not scope:
            return _api_answer(403, {"message": "Missing Authentication Token"}), action
        if scope.group(3) != "execute-api" or scope.group(2) != region:
            message = f"Credential should be scoped to a valid region and service 'execute-api' in {region}."
            return _api_answer(403, {"message": message}), action
    integration = api_method.method_integration
    target = _FUNCTION_OF_URI.search(integration.uri or "") if integration else None
    if integration is None or integration.integration_type != "AWS_PROXY" or not target:
        return _api_answer(500, {"message": "Internal server error (only AWS_PROXY Lambda integrations)"}), action
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body, encoded = (raw.decode("utf-8") if raw else None), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(raw).decode(), True
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    access_key = re.search(r"Credential=([^/]+)/", authorization)
    event = {
        "resource": resource.get_path(),
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": api.stages[stage_name].variables or None,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "resourceId": resource.id,
            "resourcePath": resource.get_path(),
            "httpMethod": method,
            "stage": stage_name,
            "path": f"/{stage_name}{path}",
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {
                "accessKey": access_key.group(1) if access_key else None,
                "sourceIp": environ.get("REMOTE_ADDR"),
                "userAgent": environ.get("HTTP_USER_AGENT"),
                "userArn": f"arn:aws:iam::{account}:user/local" if access_key else None,
            },
        },
        "body": body,
        "isBase64Encoded": encoded,
    }
    from moto.awslambda.models import lambda_backends

    function_arn = target.group(1)
    function_region = function_arn.split(":")[3] if function_arn.startswith("arn:") else region
    try:
        function = lambda_backends[account][function_region].get_function(function_arn)
    except Exception:  # noqa: BLE001 - a missing function is API Gateway's 500
        return _api_answer(500, {"message": "Internal server error"}), action
    result, error, _ = function._invoke_lambda(json.dumps(event))
    try:
        answer = json.loads(result) if not error else None
        status = int(answer["statusCode"])
    except (TypeError, ValueError, KeyError):
        return _api_answer(502, {"message": "Internal server error"}), action
    out_headers = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
    for k, values in (answer.get("multiValueHeaders") or {}).items():
        out_headers.extend((k, str(v)) for v in values)
    payload = answer.get("body") or ""
    payload = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
    return (status, out_headers, [payload]), action


# ---------------------------------------------------------------------------------------------
# Request log, fault injection and the /_local control API (WSGI middleware)
# ---------------------------------------------------------------------------------------------
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


# the services accounts act in with their own keys (moto's internal calls, as Step Functions'
# Lambda invokes, sign with keys of their own)
_ACCOUNT_SERVICES = {"ec2", "s3", "sts"}


# ---------------------------------------------------------------------------------------------
# Step Functions: service integrations with AWS's names
# ---------------------------------------------------------------------------------------------
# moto's Step Functions call back into this server with this key (boto_client_for)
_STATES_KEY = "ak"
_sfn_normalise_parameters = sfn_states.StateTaskServiceSfn._normalise_parameters


def _sfn_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    """AWS's parameter names (``StateMachineArn``) as boto3's (``stateMachineArn``)."""
    _sfn_normalise_parameters(self, parameters, boto_service_name, service_action_name)
    if service_action_name is None:
        for key in list(parameters):
            parameters[key[:1].lower() + key[1:]] = parameters.pop(key)


def _sfn_response(self, response, boto_service_name=None, service_action_name=None):
    """boto3's answer names (``executionArn``) as AWS's (``ExecutionArn``)."""
    if isinstance(response, dict):
        for key in list(response):
            response[key[:1].upper() + key[1:]] = response.pop(key)


sfn_states.StateTaskServiceSfn._normalise_parameters = _sfn_parameters
sfn_states.StateTaskServiceSfn._normalise_response = _sfn_response
_aws_sdk_eval = sfn_aws_sdk.StateTaskServiceAwsSdk._eval_service_task


def _aws_sdk_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    """An aws-sdk task's answer as AWS gives it: a body as text, dates as ISO 8601."""
    _aws_sdk_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials)
    answer = env.stack[-1]
    if not isinstance(answer, dict):
        return
    for key, value in list(answer.items()):
        if hasattr(value, "read"):
            answer[key] = value.read().decode("utf-8")
        elif isinstance(value, datetime.datetime):
            answer[key] = value.isoformat()


sfn_aws_sdk.StateTaskServiceAwsSdk._eval_service_task = _aws_sdk_task
# a waited-for execution is polled (AWS follows it by events); every 2 s rather than moto's
# 0.5 s, so that 25 uploads' executions do not keep the server busy describing themselves
sfn_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 2.0


def _key_known(access_key):
    """Whether requests signed with `access_key` are answered: with MOTO_KNOWN_ACCESS_KEYS set
    (the stack's own keys), only those and the keys of IAM users and assumed roles of an
    account are; AWS refuses a key it does not know, moto alone would act in its default
    account."""
    known = os.environ.get("MOTO_KNOWN_ACCESS_KEYS")
    if known is None or access_key == _STATES_KEY or access_key in known.split(","):
        return True
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    return any(
        access_key in account[partition].access_keys
        for account in list(iam_backends.values())
        for partition in PARTITION_NAMES
    )


class Faults:
    """Seeded fault injection: each matching request fails with probability `rate`, at most
    `count` times when given. Kinds: `throttle`, `5xx`, `denied`, and `lost`: the request is
    applied, then its answer replaced by a 5xx (what a client sees when the connection drops
    after the service acted)."""

    def __init__(self):
        self.configure(
            {"rate": float(os.environ.get("MOTO_FAULT_RATE", "0")), "seed": int(os.environ.get("MOTO_FAULT_SEED", "0"))}
        )

    def configure(self, config):
        self.rate = float(config.get("rate", 0))
        self.kinds = list(config.get("kinds") or ["throttle", "5xx"])
        self.services = set(config.get("services") or [])
        self.regions = set(config.get("regions") or [])
        self.actions = set(config.get("actions") or [])
        self.count = config.get("count")
        self.rng = random.Random(int(config.get("seed", 0)))

    def draw(self, service, region, action):
        if self.rate <= 0 or (self.services and service not in self.services):
            return None
        if (self.regions and region not in self.regions) or (self.actions and action not in self.actions):
            return None
        if self.count is not None and self.count <= 0:
            return None
        if self.rng.random() >= self.rate:
            return None
        if self.count is not None:
            self.count -= 1
        return self.kinds[self.rng.randrange(len(self.kinds))]


def _fault_response(kind, service, protocol):
    """Status, headers and body of an injected fault, in the protocol's error format."""
    request_id = uuid.uuid4().hex
    if kind == "throttle":
        code = {"ec2": "RequestLimitExceeded", "s3": "SlowDown"}.get(service, "Throttling")
        status = 503 if service in ("ec2", "s3") else 400
        message = "Request limit exceeded (injected)."
    elif kind == "denied":
        code = {"ec2": "UnauthorizedOperation", "s3": "AccessDenied"}.get(service, "AccessDenied")
        status, message = 403, "You are not authorized to perform this operation (injected)."
    elif kind == "unknown-key":
        code, status = {"ec2": ("AuthFailure", 401), "s3": ("InvalidAccessKeyId", 403)}.get(
            service, ("InvalidClientTokenId", 403)
        )
        message = "The security token included in the request is invalid."
    else:
        code, status, message = "InternalError", 500, "An internal error has occurred (injected)."
    if protocol == "json":
        code = {
            "throttle": "ThrottlingException",
            "denied": "AccessDeniedException",
            "unknown-key": "UnrecognizedClientException",
        }.get(kind, "InternalServerError")
        body = json.dumps({"__type": code, "message": message})
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", code),
                   ("x-amzn-RequestId", request_id)]
        return status, headers, body
    if service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    elif service == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    # as AWS answers: the request id in a header too (boto3 reads S3's from there only)
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    if service == "s3":
        headers += [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
    return status, headers, body


def _s3_action(method, path, query):
    parts = [p for p in path.split("/") if p]
    has_key = len(parts) > 1
    if method == "PUT":
        if "tagging" in query:
            return "PutObjectTagging" if has_key else "PutBucketTagging"
        if "partNumber" in query:
            return "UploadPart"
        if "notification" in query:
            return "PutBucketNotificationConfiguration"
        return "PutObject" if has_key else "CreateBucket"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        return "PostObject"
    if method == "GET":
        if not parts:
            return "ListBuckets"
        if "uploads" in query:
            return "ListMultipartUploads"
        if "uploadId" in query:
            return "ListParts"
        return "GetObject" if has_key else "ListObjects"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return "DeleteObject" if has_key else "DeleteBucket"
    return method


_SECRET_PARAMS = {"SecretString", "SecretBinary"}


def _short(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + f"...({len(text)} chars)"


def _json_response(start_response, status, data):
    body = json.dumps(data, default=str).encode()
    start_response(f"{status} {'OK' if status < 400 else 'Error'}", [("Content-Type", "application/json")])
    return [body]


class Local:
    """WSGI middleware: the /_local API, fault injection and the request log."""

    def __init__(self, app, log_path):
        self.app = app
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.faults = Faults()
        self.seq = 0

    def control(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        with _LOCK:
            if path == "/_local/health":
                return _json_response(start_response, 200, {"ok": True, "moto": _moto_version()})
            if path in ("/_local/requests", "/_local/invocations"):
                key = path.rsplit("/", 1)[1]
                if method == "DELETE":
                    _STATE[key].clear()
                    return _json_response(start_response, 200, {})
                return _json_response(start_response, 200, _STATE[key])
            if path == "/_local/billing-products":
                return _json_response(start_response, 200, _STATE["billing_products"])
            if path == "/_local/faults" and method == "POST":
                self.faults.configure(body)
                return _json_response(start_response, 200, {})
            if path == "/_local/kills" and method == "POST":
                KILLS.configure(body)
                return _json_response(start_response, 200, {})
            if path == "/_local/config" and method == "POST":
                _CONFIG.update({k: int(v) for k, v in body.items() if k in _CONFIG})
                return _json_response(start_response, 200, _CONFIG)
            if path == "/_local/reset" and method == "POST":
                moto_api_backend.reset()
                for key in ("import_tasks", "billing_products", "block_public_access", "invocations", "requests"):
                    _STATE[key].clear()
                self.faults.configure({"rate": 0})
                KILLS.configure({})
                return _json_response(start_response, 200, {})
        return _json_response(start_response, 404, {"error": f"no such control endpoint {method} {path}"})

    def api(self, environ, start_response, api_id, stage, path):
        """An API Gateway stage's request (``/restapis/<id>/<stage>/_user_request_/<path>``)."""
        started = time.time()
        method = environ.get("REQUEST_METHOD")
        (status, headers, chunks), action = api_request(environ, api_id, stage, path or "/")
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", headers)
        self.record(
            started,
            service="execute-api",
            region=None,
            action=action or f"{method} {path or '/'}",
            status=status,
            fault=None,
            params={"api": api_id, "stage": stage, "path": path or "/"},
        )
        return chunks

    def record(self, started, **fields):
        """Appends one request to the log (and the JSONL file)."""
        with _LOCK:
            self.seq += 1
            record = {"seq": self.seq, "ms": round((time.time() - started) * 1000, 1), **fields}
            _STATE["requests"].append(record)
            if self.log:
                self.log.write(json.dumps(record, sort_keys=True) + "\n")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local/"):
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        user_request = _USER_REQUEST.match(path)
        if user_request:
            return self.api(environ, start_response, *user_request.groups())
        started = time.time()
        method = environ.get("REQUEST_METHOD")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        access_key, region, service = match.groups() if match else (None, None, None)
        target = environ.get("HTTP_X_AMZ_TARGET")
        protocol = "json" if target else ("rest" if service == "s3" else "query")
        params, action = None, None
        if service == "s3":
            action = _s3_action(method, path, query)
            if method == "PUT" and "partNumber" in query and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
                action = "UploadPartCopy"
            elif method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
                action = "CopyObject"
            params = {"path": path}
            if query:
                params["query"] = {k: v[0] for k, v in query.items()}
        elif method in ("POST", "PUT", "PATCH"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                action = (form.pop("Action", [None]) or [None])[0]
                form.pop("Version", None)
                params = {k: _short(v[0] if len(v) == 1 else v) for k, v in sorted(form.items())}
            elif body:
                try:
                    params = json.loads(body)
                except ValueError:
                    params = {"_raw": _short(body.decode("utf-8", "replace"))}
            if isinstance(params, dict):
                # secret values never reach the request log
                for field in _SECRET_PARAMS.intersection(params):
                    params[field] = "***"
            if target:
                action = target.split(".")[-1]
        action = action or f"{method} {path}"
        status_holder = {}

        def _start(status, headers, exc_info=None):
            status_holder["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        if service in _ACCOUNT_SERVICES and access_key and not _key_known(access_key):
            fault = "unknown-key"
        elif service == "states" and access_key == _STATES_KEY:
            # Step Functions following its own executions (.sync) is no API call that AWS
            # throttles; its S3 reads and writes are, and draw faults like any other
            fault = None
        else:
            fault = self.faults.draw(service, region, action) if service else None
        if fault == "lost":
            # applied, then the answer is lost
            result = self.app(environ, lambda *_: None)
            try:
                list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        if fault:
            status, headers, body = _fault_response(fault, service, protocol)
            _start(f"{status} Injected", headers)
            chunks = [body.encode()]
        else:
            result = self.app(environ, _start)
            try:
                chunks = list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        by = {"by": "states"} if access_key == _STATES_KEY else {}
        self.record(
            started,
            service=service,
            region=region,
            action=action,
            status=status_holder.get("status"),
            fault=fault,
            params=params,
            **by,
        )
        return chunks


def _moto_version():
    import moto

    return moto.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--log", default=None, help="append every request to this JSONL file")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the local stack binds to loopback only")
    # Step Functions service integrations call back into this server on MOTO_PORT.
    os.environ["MOTO_PORT"] = str(args.port)

    def _stop(signum, frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    app = Local(DomainDispatcherApplication(create_backend_app), args.log)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
