#!/usr/bin/env python3
"""Creates the resources of vmpush's SAM template in the local moto, in one process.

    python provision.py spec.json

The spec (written by ``vmpush-local``, which owns the names) lists what to create:

    {"endpoint": "http://127.0.0.1:N", "region": "us-east-1", "account": "123456789012",
     "role": "vmpush-local",
     "buckets": ["vmpush-staging", ...],
     "secrets": [{"name": ..., "value": ..., "replace": false}],
     "topics": [{"name": ..., "sqs_subscriber": <queue name>}],
     "functions": [{"name": ..., "timeout": 900}],
     "notifications": [{"bucket": ..., "function": ..., "prefix": ..., "suffix": ...}],
     "state_machines": [{"name": ..., "definition": <ASL text>}],
     "apis": [{"name": ..., "id": ..., "stage": "v1",
               "routes": [{"method": "POST", "path": "/pushes", "function": ...}]}],
     "accounts": [{"alias": "aws-us-storage", "id": "111111111111", "region": "us-east-1"}],
     "credentials_file": ".local-stack/credentials.json"}

Each account gets an IAM user ``vmpush-<alias>`` (in the account, in its region's partition)
with one access key, which moto maps to the account; the pubtools credentials documents of
those keys (a JSON array) are written to ``credentials_file``. Keys already in that file and in
moto are kept, so a second run rewrites nothing.

APIs are REST APIs with the given id (moto's ``_custom_id_`` tag), IAM auth and AWS_PROXY
integrations, deployed to the stage.

A secret is created with its value; one marked ``replace`` also gets a new version whenever
its value differs (the others keep what tests stored in them).

Everything is get-or-create, so running it twice changes nothing; it prints one JSON line
with the ARNs it ended up with. Lambda code is a placeholder zip: invokes are forwarded to
``cargo lambda watch`` by the moto launcher, which runs the workspace binaries.
"""
import io
import json
import os
import sys
import zipfile

import boto3


def client(spec, service):
    return boto3.client(
        service,
        endpoint_url=spec["endpoint"],
        region_name=spec["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))


def partition(region):
    return next((p for prefix, p in PARTITIONS if region.startswith(prefix)), "aws")


def account_client(spec, service, account):
    """A client whose calls act in `account` (moto's x-moto-account-id header)."""
    c = boto3.client(
        service,
        endpoint_url=spec["endpoint"],
        region_name=account["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def in_account(params, **_):
        params["headers"]["x-moto-account-id"] = account["id"]

    c.meta.events.register("before-call.*.*", in_account)
    return c


def account_keys(spec, account, known):
    """The access key of the account's user: the one in `known` if moto still has it, else a
    new one (older keys deleted)."""
    iam = account_client(spec, "iam", account)
    user = f"vmpush-{account['alias']}"
    try:
        iam.get_user(UserName=user)
    except iam.exceptions.NoSuchEntityException:
        iam.create_user(UserName=user)
    listed = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
    if known and known["AWS_IMAGE_ACCESS_KEY"] in listed:
        return known["AWS_IMAGE_ACCESS_KEY"], known["AWS_IMAGE_SECRET_ACCESS"]
    for key in listed:
        iam.delete_access_key(UserName=user, AccessKeyId=key)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def provision_accounts(spec):
    """Users and keys of the spec's accounts; writes their credentials documents."""
    path = spec.get("credentials_file")
    if not path or not spec.get("accounts"):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            known = {d["marketplace_account"]: d["auth"] for d in json.load(f)}
    except (OSError, ValueError, KeyError, TypeError):
        known = {}
    documents = []
    for account in spec["accounts"]:
        alias, region = account["alias"], account["region"]
        key, secret = account_keys(spec, account, known.get(alias))
        documents.append(
            {
                "marketplace_account": alias,
                "auth": {
                    "AWS_IMAGE_ACCESS_KEY": key,
                    "AWS_IMAGE_SECRET_ACCESS": secret,
                    # the Marketplace Catalog fake's own keys (it checks no signature but
                    # records the signer): what tells its calls from the image calls
                    "AWS_MARKETPLACE_ACCESS_KEY": f"AKIAMKTPL{account['id']}",
                    "AWS_MARKETPLACE_SECRET_ACCESS": f"marketplace-secret-{secret[:8]}",
                    "AWS_ACCESS_ROLE_ARN": f"arn:{partition(region)}:iam::{account['id']}:role/vmpush-marketplace",
                    "AWS_REGION": region,
                    "AWS_GROUPS": [],
                    "AWS_ACCOUNTS": [],
                    "AWS_SNAPSHOT_ACCOUNTS": [],
                },
            }
        )
    text = json.dumps(documents, indent=2) + "\n"
    try:
        with open(path, encoding="utf-8") as f:
            unchanged = f.read() == text
    except OSError:
        unchanged = False
    if not unchanged:
        # the keys are the accounts' own: readable by their owner only
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            f.write(text)
    return {d["marketplace_account"]: a["id"] for d, a in zip(documents, spec["accounts"])}


def placeholder_zip():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n# invoked through cargo lambda watch\n")
    return data.getvalue()


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    out = {"functions": {}, "state_machines": {}, "topics": {}}
    iam = client(spec, "iam")
    try:
        role = iam.get_role(RoleName=spec["role"])["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=spec["role"], AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    s3 = client(spec, "s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in spec.get("buckets", []):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)

    secrets = client(spec, "secretsmanager")
    for secret in spec.get("secrets", []):
        try:
            current = secrets.get_secret_value(SecretId=secret["name"]).get("SecretString")
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=secret["name"], SecretString=secret["value"])
            continue
        if secret.get("replace") and current != secret["value"]:
            secrets.put_secret_value(SecretId=secret["name"], SecretString=secret["value"])

    sns, sqs = client(spec, "sns"), client(spec, "sqs")
    for topic in spec.get("topics", []):
        arn = sns.create_topic(Name=topic["name"])["TopicArn"]
        out["topics"][topic["name"]] = arn
        queue = topic.get("sqs_subscriber")
        if queue:
            url = sqs.create_queue(QueueName=queue)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            subscribed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
            if not any(s["Endpoint"] == queue_arn for s in subscribed):
                sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

    functions = client(spec, "lambda")
    code = placeholder_zip()
    for function in spec.get("functions", []):
        try:
            arn = functions.get_function(FunctionName=function["name"])["Configuration"]["FunctionArn"]
        except functions.exceptions.ResourceNotFoundException:
            arn = functions.create_function(
                FunctionName=function["name"],
                Runtime="provided.al2023",
                Role=role,
                Handler="bootstrap",
                Timeout=function.get("timeout", 900),
                Code={"ZipFile": code},
            )["FunctionArn"]
        out["functions"][function["name"]] = arn

    for n in spec.get("notifications", []):
        s3.put_bucket_notification_configuration(
            Bucket=n["bucket"],
            NotificationConfiguration={
                "LambdaFunctionConfigurations": [
                    {
                        "LambdaFunctionArn": out["functions"][n["function"]],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {
                                "FilterRules": [
                                    {"Name": "prefix", "Value": n["prefix"]},
                                    {"Name": "suffix", "Value": n["suffix"]},
                                ]
                            }
                        },
                    }
                ]
            },
        )

    sfn = client(spec, "stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    for machine in spec.get("state_machines", []):
        arn = machines.get(machine["name"])
        if arn:
            sfn.update_state_machine(stateMachineArn=arn, definition=machine["definition"])
        else:
            arn = sfn.create_state_machine(
                name=machine["name"], definition=machine["definition"], roleArn=role
            )["stateMachineArn"]
        out["state_machines"][machine["name"]] = arn

    apigateway = client(spec, "apigateway")
    for api in spec.get("apis", []):
        try:
            apigateway.get_rest_api(restApiId=api["id"])
        except apigateway.exceptions.NotFoundException:
            apigateway.create_rest_api(name=api["name"], tags={"_custom_id_": api["id"]})
        resources = {r["path"]: r["id"] for r in apigateway.get_resources(restApiId=api["id"], limit=500)["items"]}
        for route in api["routes"]:
            parent = "/"
            for part in [p for p in route["path"].split("/") if p]:
                path = parent.rstrip("/") + "/" + part
                if path not in resources:
                    resources[path] = apigateway.create_resource(
                        restApiId=api["id"], parentId=resources[parent], pathPart=part
                    )["id"]
                parent = path
            resource = resources[route["path"]]
            apigateway.put_method(
                restApiId=api["id"], resourceId=resource, httpMethod=route["method"], authorizationType="AWS_IAM"
            )
            function_arn = out["functions"][route["function"]]
            apigateway.put_integration(
                restApiId=api["id"],
                resourceId=resource,
                httpMethod=route["method"],
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=f"arn:aws:apigateway:{spec['region']}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
            )
        apigateway.create_deployment(restApiId=api["id"], stageName=api["stage"])
        out.setdefault("apis", {})[api["name"]] = api["id"]

    out["accounts"] = provision_accounts(spec)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
