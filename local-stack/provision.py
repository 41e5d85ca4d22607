#!/usr/bin/env python3
"""Creates the resources of vmpush's SAM template in the local moto, in one process.

    python provision.py spec.json

The spec (written by ``vmpush-local``, which owns the names) lists what to create:

    {"endpoint": "http://127.0.0.1:N", "region": "us-east-1", "account": "123456789012",
     "role": "vmpush-local",
     "buckets": ["vmpush-staging", ...],
     "secrets": [{"name": ..., "value": ...}],
     "topics": [{"name": ..., "sqs_subscriber": <queue name>}],
     "functions": [{"name": ..., "timeout": 900}],
     "notifications": [{"bucket": ..., "function": ..., "prefix": ..., "suffix": ...}],
     "state_machines": [{"name": ..., "definition": <ASL text>}],
     "apis": [{"name": ..., "id": ..., "stage": "v1",
               "routes": [{"method": "POST", "path": "/pushes", "function": ...}]}]}

APIs are REST APIs with the given id (moto's ``_custom_id_`` tag), IAM auth and AWS_PROXY
integrations, deployed to the stage.

Everything is get-or-create, so running it twice changes nothing; it prints one JSON line
with the ARNs it ended up with. Lambda code is a placeholder zip: invokes are forwarded to
``cargo lambda watch`` by the moto launcher, which runs the workspace binaries.
"""
import io
import json
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
            secrets.describe_secret(SecretId=secret["name"])
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=secret["name"], SecretString=secret["value"])

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

    print(json.dumps(out))


if __name__ == "__main__":
    main()
