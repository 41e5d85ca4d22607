#!/usr/bin/env python3
"""Writes the bad-input corpus: one folder per case under tests/bad-inputs/cases/.

    python3 tests/bad-inputs/generate.py

A case is the peer kit's fixture (tests/fixtures/peer-kit-1image: `stage/` = its staged tree,
`mapping.yaml`, `credentials.json`) with some files replaced, and `case.json`:

    {"what": "...", "args": [vmpush arguments, run in the case's copy],
     "expect": "text the one error line must hold (the file and the field)",
     "make": {"<path>": "fifo" | "huge" | "deep" | "escape-link" | "dir"}}

`make` builds what git cannot hold (FIFOs, links, large files) when the case is copied.
Inputs the reference itself takes without an error are not bad inputs here: a `type` other
than AMI or VHD, an image path with a `/` or a missing image file (warnings: the image is
left out), an empty or missing `resources.yaml`, a mapping for another cloud or without
mappings for the image (skipped), an empty credentials list (the functions' own role).

The test (cli/tests/bad_inputs.rs) runs every case: exit 1 or 2, one line naming the file and
the field, no panic, under 5 s, no secret of the credentials printed. `requests.json` holds bad
push requests, which the chaos harness runs on the local stack (see REQUESTS below).
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "tests/fixtures/peer-kit-1image")
R = "stage/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml"
IMAGE = "rhel-ec2-9.0-10.x86_64.raw.xz"
M = "mapping.yaml"
C = "credentials.json"
PLAN = ["plan", "--offline", "--repo-file", M, "--credentials", C, "staged:stage"]

with open(os.path.join(FIXTURE, "staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml")) as f:
    RES = f.read()
with open(os.path.join(FIXTURE, "mapping.yaml")) as f:
    MAP = f.read()
with open(os.path.join(FIXTURE, "credentials.json")) as f:
    CRED = json.load(f)


def res(old, new):
    assert old in RES, old
    return {R: RES.replace(old, new, 1)}


def mapping(old, new):
    assert old in MAP, old
    return {M: MAP.replace(old, new, 1)}


def cred(change):
    doc = json.loads(json.dumps(CRED))
    change(doc)
    return {C: json.dumps(doc, indent=2)}


def auth(key, value):
    def change(doc):
        if value is None:
            del doc["auth"][key]
        else:
            doc["auth"][key] = value
    return cred(change)


RF = "resources.yaml"
CASES = [
    # --- CLOUD_IMAGES resources.yaml ---
    ("res-api-missing", res("api: v1\n", ""), PLAN, f"{RF}: api"),
    ("res-api-v2", res("api: v1", "api: v2"), PLAN, f"{RF}: api"),
    ("res-resource-wrong", res("resource: CloudImage", "resource: Image"), PLAN, f"{RF}: resource"),
    ("res-build-missing", res("build:\n  name: rhel-ec2\n  version: \"9.0\"\n  respin: \"10\"\n", ""), PLAN, f"{RF}: build"),
    ("res-build-name-missing", res("  name: rhel-ec2\n", ""), PLAN, f"{RF}: build.name"),
    ("res-build-version-number", res("version: \"9.0\"", "version: 9.0"), PLAN, f"{RF}: build.version"),
    ("res-build-respin-list", res("respin: \"10\"", "respin: [10]"), PLAN, f"{RF}: build.respin"),
    ("res-build-not-mapping", res("build:\n  name: rhel-ec2\n  version: \"9.0\"\n  respin: \"10\"\n", "build: rhel-ec2\n"), PLAN, f"{RF}: build"),
    ("res-release-date-bad", res("date: \"20250101\"", "date: \"2025-13-45\""), PLAN, f"{RF}: release.date"),
    ("res-release-date-number", res("date: \"20250101\"", "date: 20251399"), PLAN, f"{RF}: release.date"),
    ("res-images-missing", res("images:\n  - path: rhel-ec2-9.0-10.x86_64.raw.xz\n    architecture: x86_64\n", "imagez:\n  - path: rhel-ec2-9.0-10.x86_64.raw.xz\n    architecture: x86_64\n"), PLAN, f"{RF}: images"),
    ("res-images-not-list", res("images:\n  - path:", "images:\n    path:"), PLAN, f"{RF}: images"),
    ("res-image-path-missing", res("  - path: rhel-ec2-9.0-10.x86_64.raw.xz\n    architecture", "  - architecture"), PLAN, f"{RF}: images[0].path"),
    ("res-image-arch-sparc", res("architecture: x86_64", "architecture: sparc"), PLAN, "architecture: 'sparc' is not x86_64 or arm64"),
    ("res-image-sha-short", res("sha256sum: 305e5ece", "sha256sum: 305e"), PLAN, f"{RF}: images[0].sha256sum"),
    ("res-image-sha-nonhex", res("sha256sum: 305e", "sha256sum: zz5e"), PLAN, f"{RF}: images[0].sha256sum"),
    ("res-boot-mode-bios", res("boot_mode: hybrid", "boot_mode: bios"), PLAN, f"{RF}: boot_mode"),
    ("res-description-number", res("description: \"Provided by Red Hat, Inc.\"", "description: 42"), PLAN, f"{RF}: description"),
    ("res-duplicate-key", res("api: v1\n", "api: v1\napi: v1\n"), PLAN, f"{RF}: not valid YAML: duplicate entry with key \"api\""),
    ("res-two-documents", {R: RES + "---\napi: v1\n"}, PLAN, f"{RF}: not valid YAML: several YAML documents"),
    ("res-not-utf8", {R: RES.replace("Red Hat", "Red \udcff Hat")}, PLAN, f"{RF}: not valid YAML: not UTF-8"),
    ("res-nul-in-name", res("name: rhel-ec2", "name: \"rhel\\0ec2\""), PLAN, f"{RF}: build.name: contains a control character"),
    ("res-root-list", {R: "- api: v1\n"}, PLAN, f"{RF}: (document)"),
    ("res-root-scalar", {R: "just text\n"}, PLAN, f"{RF}: (document)"),
    ("res-bad-indentation", res("  version: \"9.0\"", "\tversion: \"9.0\""), PLAN, f"{RF}: not valid YAML"),
    ("res-unclosed-flow", {R: "api: v1\nbuild: {name: rhel-ec2\n"}, PLAN, f"{RF}: not valid YAML"),
    ("res-respin-huge", res("respin: \"10\"", "respin: 99999999999999999999999"), PLAN, f"{RF}: not valid YAML: build.respin"),
    ("res-deep", {}, PLAN, f"{RF}: not valid YAML: collections nested deeper than 64 levels", {R: "deep"}),
    ("res-huge", {}, PLAN, f"{RF}: cannot read: larger than 1048576 bytes", {R: "huge"}),
    ("res-fifo", {}, PLAN, f"{RF}: is neither a regular file nor a directory", {R: "fifo"}),
    ("res-escape-link", {}, PLAN, f"{RF}: is a symbolic link that leaves the staged directory", {R: "escape-link"}),
    ("res-image-fifo", {}, PLAN, f"{IMAGE}: is neither a regular file nor a directory", {f"stage/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/{IMAGE}": "fifo"}),
    # --- StArMap mappings (--repo-file) ---
    ("map-not-list", {M: "name: rhel-ec2\n"}, PLAN, f"{M}: (document)"),
    ("map-name-missing", mapping("- name: rhel-ec2\n", "- nome: rhel-ec2\n"), PLAN, f"{M}: [0]"),
    ("map-workflow-unknown", mapping("workflow: community", "workflow: everything"), PLAN, f"{M}: [0].workflow"),
    ("map-mappings-list", mapping("  mappings:\n", "  mappings: []\n  mappingz:\n"), PLAN, f"{M}: [0].mappings"),
    ("map-destinations-not-list", mapping("      destinations:\n", "      destinations: 7\n      destinationz:\n"), PLAN, f"{M}: [0].mappings.aws-us-storage.destinations"),
    ("map-destination-missing", mapping("      - destination: us-east-1-hourly\n", "      - destinashun: us-east-1-hourly\n"), PLAN, f"{M}: [0].mappings.aws-us-storage.destinations[0].destination"),
    ("map-overwrite-missing", mapping("        overwrite: false\n", "", ), PLAN, f"{M}: [0].mappings.aws-us-storage.destinations[0].overwrite"),
    ("map-overwrite-string", mapping("        overwrite: false\n", "        overwrite: 'no'\n"), PLAN, f"{M}: [0].mappings.aws-us-storage.destinations[0].overwrite"),
    ("map-destination-traversal", mapping("destination: us-east-2-hourly", "destination: ../../etc-hourly"), PLAN, "aws-us-storage.../../etc-hourly.region"),
    ("map-destination-unknown-region", mapping("destination: us-east-2-hourly", "destination: mars-east-1-hourly"), PLAN, "aws-us-storage.mars-east-1-hourly.region"),
    ("map-destination-no-type", mapping("destination: us-east-2-hourly", "destination: useast2"), PLAN, "useast2"),
    ("map-destination-emoji", mapping("destination: us-east-2-hourly", "destination: us-east-\U0001F600-hourly"), PLAN, "region"),
    ("map-destination-nul", mapping("destination: us-east-2-hourly", "destination: \"us-east-2\\0-hourly\""), PLAN, "region"),
    ("map-sharing-not-list", mapping("        sharing_accounts:\n        - '111122223333'\n        - '444455556666'\n", "        sharing_accounts: '111122223333'\n"), PLAN, "sharing_accounts"),
    ("map-sharing-bad-account", mapping("- '111122223333'", "- 'abc'"), PLAN, "sharing_accounts"),
    ("map-sharing-wrong-partition", mapping("- '111122223333'", "- 'aws-cn:111122223333:x'"), PLAN, "sharing_accounts"),
    ("map-snapshot-org", mapping("- '777788889999'", "- 'arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5'"), PLAN, "snapshot_accounts"),
    ("map-tpm-v1", mapping("        snapshot_accounts:\n", "        tpm_support: v1\n        snapshot_accounts:\n"), PLAN, "meta.tpm_support"),
    ("map-imds-v1", mapping("        snapshot_accounts:\n", "        imds_support: v1.0\n        snapshot_accounts:\n"), PLAN, "meta.imds_support"),
    ("map-root-size-negative", mapping("        snapshot_accounts:\n", "        root_device_volume_size: -1\n        snapshot_accounts:\n"), PLAN, "meta.root_device_volume_size"),
    ("map-uefi-not-base64", mapping("        snapshot_accounts:\n", "        uefi_data: '***not base64***'\n        snapshot_accounts:\n"), PLAN, "meta.uefi_data"),
    ("map-version-template-bad", mapping("ami_version_template: '{major}.{minor}.0'", "ami_version_template: '{nope}'"), PLAN, "template '{nope}' uses unknown placeholder"),
    ("map-product-emoji", mapping("          product: RHEL", "          product: RH\U0001F600EL"), PLAN, "ami_name"),
    ("map-product-long", mapping("          product: RHEL", "          product: " + "R" * 300), PLAN, "ami_name"),
    ("map-product-slash-dotdot", mapping("          product: RHEL", "          product: RHEL/../x$"), PLAN, "ami_name"),
    ("map-account-not-in-credentials", mapping("    aws-us-storage:", "    aws-emea-storage:"), PLAN, "aws-emea-storage"),
    ("map-two-documents", {M: MAP + "---\n- name: x\n"}, PLAN, f"{M}: not valid YAML: several YAML documents"),
    ("map-deep", {}, PLAN, f"{M}: not valid YAML: collections nested deeper than 64 levels", {M: "deep"}),
    ("map-huge", {}, PLAN, f"{M}: cannot read: larger than 1048576 bytes", {M: "huge"}),
    ("map-fifo", {}, PLAN, f"{M}: cannot read: not a regular file", {M: "fifo"}),
    ("map-duplicate-key", mapping("  workflow: community\n", "  workflow: community\n  workflow: community\n"), PLAN, f"{M}: not valid YAML: .[0]: duplicate entry with key \"workflow\""),
    ("map-dev-zero", {}, ["plan", "--offline", "--repo-file", "/dev/zero", "staged:stage"], "/dev/zero: cannot read: not a regular file"),
    ("map-missing-file", {}, ["plan", "--offline", "--repo-file", "nothing.yaml", "staged:stage"], "nothing.yaml: cannot read"),
    ("map-inline-bad-json", {}, ["plan", "--offline", "--repo", "[{", "staged:stage"], "--repo"),
    # --- credentials ---
    ("cred-not-json", {C: "marketplace_account = aws-us-storage\n"}, PLAN, f"{C}: not valid JSON"),
    ("cred-account-missing", cred(lambda d: d.pop("marketplace_account")), PLAN, f"{C}: marketplace_account"),
    ("cred-auth-missing", cred(lambda d: d.pop("auth")), PLAN, f"{C}: auth"),
    ("cred-key-number", auth("AWS_IMAGE_ACCESS_KEY", 12345), PLAN, f"{C}: auth.AWS_IMAGE_ACCESS_KEY"),
    ("cred-secret-missing", auth("AWS_IMAGE_SECRET_ACCESS", None), PLAN, f"{C}: auth"),
    ("cred-region-bad", auth("AWS_REGION", "../../etc"), PLAN, f"{C}: auth.AWS_REGION"),
    ("cred-groups-not-list", auth("AWS_GROUPS", "all"), PLAN, f"{C}: auth.AWS_GROUPS"),
    ("cred-snapshot-account-bad", auth("AWS_SNAPSHOT_ACCOUNTS", ["abc"]), PLAN, f"{C}: auth.AWS_SNAPSHOT_ACCOUNTS[0]: 'abc' is not an AWS account id"),
    ("cred-role-not-arn", auth("AWS_ASSUME_ROLE_ARN", "my-role"), PLAN, f"{C}: auth.AWS_ASSUME_ROLE_ARN"),
    ("cred-bucket-bad", auth("AWS_S3_BUCKET", "Bad_Bucket/.."), PLAN, "AWS_S3_BUCKET"),
    ("cred-is-dir", {}, PLAN, f"{C}: cannot read: not a regular file", {C: "dir"}),
    ("cred-fifo", {}, PLAN, f"{C}: cannot read: not a regular file", {C: "fifo"}),
    ("cred-huge", {}, PLAN, f"{C}: cannot read: larger than 1048576 bytes", {C: "huge"}),
    # --- flags and trees ---
    ("flag-prefix-traversal", {}, PLAN[:-1] + ["--container-prefix", "redhat/..", "staged:stage"], "bucket: 'redhat/..-us-east-1'"),
    ("flag-prefix-upper", {}, PLAN[:-1] + ["--container-prefix", "RedHat", "staged:stage"], "bucket: 'RedHat-us-east-1'"),
    ("flag-prefix-long", {}, PLAN[:-1] + ["--container-prefix", "r" * 70, "staged:stage"], "bucket"),
    ("flag-workflow-bogus", {}, ["plan", "--workflow", "bogus", "staged:stage"], "--workflow"),
    ("flag-unknown", {}, ["plan", "--no-such-flag", "staged:stage"], "--no-such-flag"),
    ("tree-missing", {}, ["plan", "--offline", "--repo-file", M, "staged:nowhere"], "nowhere"),
    ("tree-is-file", {}, ["plan", "--offline", "--repo-file", M, "staged:mapping.yaml"], "mapping.yaml"),
    ("source-not-staged", {}, ["plan", "--offline", "--repo-file", M, "koji:rhel-9"], "koji:rhel-9"),
]


# Push requests, run by the chaos harness (tests/e2e/chaos.rs) on the local stack both as a
# drop's `push.yaml` and as a `POST /pushes` body (start-push's API entry), unless `modes`
# says otherwise: the drop ends FAILED with one line naming `push.yaml` and the field, the API
# answers 400 naming the field (`request body: <field>` for what does not parse, `<field>: ...`
# for what does not validate), nothing is uploaded.
SRC = "staged:s3://vmpush-staging/drops/chaos-src"


def req(**fields):
    body = {"sources": [SRC]}
    body.update(fields)
    return json.dumps(body)


REQUESTS = [
    ("workflow-unknown", req(workflow="every"), "workflow"),
    ("workflow-number", req(workflow=5), "workflow"),
    ("sources-not-list", json.dumps({"sources": "staged:x"}), "sources"),
    ("source-scheme", json.dumps({"sources": ["koji:rhel-9"]}), "sources[0]"),
    ("source-empty", json.dumps({"sources": [""]}), "sources[0]"),
    ("source-traversal", json.dumps({"sources": ["staged:s3://vmpush-staging/../etc"]}), "sources[0]"),
    ("source-no-bucket", json.dumps({"sources": ["staged:s3:///x"]}), "sources[0]"),
    ("field-unknown", req(sourcez=[]), "sourcez"),
    ("starmap-mode", req(starmap={"mode": "sideways"}), "mode"),
    ("starmap-offline-no-repo", req(starmap={"mode": "offline"}), "repo"),
    # start-push refuses a server the deployment does not list, before anything starts
    ("starmap-url-unlisted", req(starmap={"url": "http://169.254.169.254/latest"}), "starmap.url"),
    ("starmap-repo-not-list", req(starmap={"mode": "offline", "repo": "x"}), "repo"),
    ("starmap-field-unknown", req(starmap={"modes": "online"}), "modes"),
    ("pre-push-string", req(pre_push="yes"), "pre_push"),
    ("beta-number", req(beta=2), "beta"),
    ("prefix-traversal", req(container_prefix="redhat/.."), "container_prefix"),
    ("prefix-nul", req(container_prefix="red\u0000hat"), "container_prefix"),
    ("prefix-unicode", req(container_prefix="redhat-\u2603"), "container_prefix"),
    ("notify-field-unknown", req(notify={"topic_arnz": "x"}), "topic_arnz"),
    ("duplicate-key", '{"workflow": "community", "workflow": "marketplace"}', "workflow"),
    ("deep", '{"sources": ' + "[" * 100000 + "]" * 100000 + "}", "sources"),
    ("push-id-unicode", req(push_id="p\u00f9sh"), "push_id", ["api"]),
    ("push-id-long", req(push_id="a" * 65), "push_id", ["api"]),
    ("push-id-traversal", req(push_id="../x"), "push_id", ["api"]),
    ("two-documents", "workflow: community\n---\nworkflow: community\n", "more than one document", ["drop"]),
]


def main():
    with open(os.path.join(HERE, "requests.json"), "w") as f:
        cases = []
        for case in REQUESTS:
            name, body, expect = case[:3]
            modes = case[3] if len(case) > 3 else ["drop", "api"]
            cases.append({"what": name, "body": body, "expect": expect, "modes": modes})
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    out = os.path.join(HERE, "cases")
    shutil.rmtree(out, ignore_errors=True)
    for i, case in enumerate(CASES, 1):
        name, files, args, expect = case[:4]
        make = case[4] if len(case) > 4 else {}
        folder = os.path.join(out, f"{i:03d}-{name}")
        os.makedirs(folder)
        for path, content in files.items():
            target = os.path.join(folder, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(content.encode("utf-8", "surrogateescape"))
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump({"what": name, "args": args, "expect": expect, "make": make}, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"{len(CASES)} cases in {out}, {len(REQUESTS)} push requests in requests.json")


if __name__ == "__main__":
    main()
