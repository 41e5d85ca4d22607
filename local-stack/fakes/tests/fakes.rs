//! The fakes over real HTTP, checked against the documented payloads.

use axum::Router;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use vmpush_fakes::control::{FaultConfig, Recorded};
use vmpush_fakes::{marketplace, rhsm, starmap};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn json_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

const AMAZON: &str = "/v1/internal/cloud_access_providers/amazon";

#[tokio::test]
async fn rhsm_ship_flow_of_the_reference() {
    let base = serve(rhsm::router(
        rhsm::default_products(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    // GIVEN the products list
    let (s, groups) = json_of(
        c.get(format!("{base}{AMAZON}/provider_image_groups"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        groups["body"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "RHEL_HOURLY", "providerShortName": "AWS"}))
    );
    // WHEN an image is shipped: region, PUT (unknown → 404), POST create, then PUT update
    let region = json!({"regionID": "us-east-1", "providerShortname": "AWS"});
    assert_eq!(
        c.post(format!("{base}{AMAZON}/regions"))
            .json(&region)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.post(format!("{base}{AMAZON}/regions"))
            .json(&region)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "existing region is OK"
    );
    let mut image = json!({"amiID": "ami-00000001", "arch": "x86_64", "product": "RHEL_HOURLY", "version": "9.4", "variant": "BaseOS",
        "description": "Released RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3 on 2026-11-21T07:44:57+00:00", "status": "VISIBLE"});
    assert_eq!(
        c.put(format!("{base}{AMAZON}/amis"))
            .json(&image)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let mut create = image.clone();
    create["region"] = json!("us-east-1");
    assert_eq!(
        c.post(format!("{base}{AMAZON}/amis"))
            .json(&create)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.post(format!("{base}{AMAZON}/amis"))
            .json(&create)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    image["status"] = json!("invisible");
    assert_eq!(
        c.put(format!("{base}{AMAZON}/amis"))
            .json(&image)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // THEN the list shows it, paged, and the log holds the exact bodies
    let (_, page) = json_of(
        c.get(format!("{base}{AMAZON}/amis?limit=1000&offset=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["pagination"]["count"], 1);
    assert_eq!(page["body"][0]["status"], "invisible");
    assert_eq!(page["body"][0]["region"], "us-east-1");
    let (_, empty) = json_of(
        c.get(format!("{base}{AMAZON}/amis?limit=1000&offset=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty["pagination"]["count"], 0);
    let log: Vec<Recorded> = c
        .get(format!("{base}/_fake/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls: Vec<(String, String, u16)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(calls[1], ("POST".into(), format!("{AMAZON}/regions"), 200));
    assert_eq!(log[1].body, region);
    assert_eq!(log[3].body["amiID"], "ami-00000001");
    assert_eq!(log.len(), 9);
    // reset wipes images and the log
    assert_eq!(
        c.post(format!("{base}/_fake/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (_, page) = json_of(c.get(format!("{base}{AMAZON}/amis")).send().await.unwrap()).await;
    assert_eq!(page["pagination"]["count"], 0);
}

#[tokio::test]
async fn rhsm_refuses_what_the_real_api_would() {
    let base = serve(rhsm::router(
        rhsm::default_products(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let cases = [
        (
            format!("{AMAZON}/regions"),
            json!({"regionID": "us-east-1", "providerShortName": "AWS"}),
            "unexpected field providerShortName",
        ),
        (
            format!("{AMAZON}/regions"),
            json!({"regionID": "us-east-1", "providerShortname": "GCP"}),
            "unknown provider GCP",
        ),
        (
            format!("{AMAZON}/amis"),
            json!({"amiID": "ami-1", "arch": "aarch64", "product": "RHEL", "version": "9", "variant": "v",
            "description": "d", "status": "VISIBLE", "region": "us-east-1"}),
            "arch aarch64 is not x86_64 or arm64",
        ),
        (
            format!("{AMAZON}/amis"),
            json!({"amiID": "ami-1", "arch": "x86_64", "product": "FEDORA", "version": "9", "variant": "v",
            "description": "d", "status": "VISIBLE", "region": "us-east-1"}),
            "unknown product FEDORA",
        ),
        (
            format!("{AMAZON}/amis"),
            json!({"amiID": "ami-1", "arch": "x86_64", "product": "RHEL", "version": "9", "variant": "v",
            "description": "d", "status": "VISIBLE", "region": "eu-west-9"}),
            "region eu-west-9 is not registered",
        ),
        (
            format!("{AMAZON}/amis"),
            json!({"amiID": "ami-1", "arch": "x86_64", "product": "RHEL", "version": "9",
            "description": "d", "status": "VISIBLE", "region": "us-east-1"}),
            "missing field variant",
        ),
    ];
    for (path, body, expected) in cases {
        let (s, v) = json_of(
            c.post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (s, v["error"].as_str().unwrap()),
            (StatusCode::BAD_REQUEST, expected)
        );
    }
}

#[tokio::test]
async fn starmap_serves_mapping_files_with_version_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rhel-ec2.yaml"),
        "- {name: rhel-ec2, cloud: aws, workflow: community, mappings: {}}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("rhel-ec2")).unwrap();
    std::fs::write(
        dir.path().join("rhel-ec2/9.5.json"),
        r#"[{"name": "rhel-ec2", "cloud": "aws", "workflow": "stratosphere", "mappings": {}}]"#,
    )
    .unwrap();
    let base = serve(starmap::router(
        dir.path().to_path_buf(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let get = |q: &'static str| c.get(format!("{base}/api/v2/query?{q}")).send();
    let (s, v) = json_of(get("name=rhel-ec2&version=9.4").await.unwrap()).await;
    assert_eq!(
        (s, v[0]["workflow"].as_str()),
        (StatusCode::OK, Some("community"))
    );
    let (_, v) = json_of(get("name=rhel-ec2&version=9.5").await.unwrap()).await;
    assert_eq!(v[0]["workflow"], "stratosphere");
    let (_, v) = json_of(get("name=rhel-ec2").await.unwrap()).await;
    assert_eq!(v[0]["workflow"], "community");
    assert_eq!(get("name=unknown&version=1").await.unwrap().status(), 404);
    assert_eq!(get("name=..&version=1").await.unwrap().status(), 400);
    assert_eq!(get("version=1").await.unwrap().status(), 400);
}

fn add_version(entity: &str, title: &str, ami: &str, token: Option<&str>) -> Value {
    let mut body = json!({"Catalog": "AWSMarketplace", "Intent": "APPLY", "ChangeSetName": format!("New version {title}"), "ChangeSet": [{
        "ChangeType": "AddDeliveryOptions", "Entity": {"Type": "AmiProduct@1.0", "Identifier": entity},
        "DetailsDocument": {"Version": {"VersionTitle": title, "ReleaseNotes": "notes"},
          "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {
            "AmiSource": {"AmiId": ami, "AccessRoleArn": "arn:aws:iam::000000000000:role/mkt", "UserName": "ec2-user",
                          "OperatingSystemName": "RHEL", "OperatingSystemVersion": "9.4", "ScanningPort": 22},
            "UsageInstructions": "ssh", "RecommendedInstanceType": "m5.large",
            "SecurityGroups": [{"FromPort": 22, "IpProtocol": "tcp", "IpRanges": ["0.0.0.0/0"], "ToPort": 22}]}}}]}}]});
    if let Some(t) = token {
        body["ClientRequestToken"] = json!(t);
    }
    body
}

async fn describe(c: &Client, base: &str, id: &str) -> Value {
    json_of(
        c.get(format!(
            "{base}/DescribeChangeSet?catalog=AWSMarketplace&changeSetId={id}"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await
    .1
}

#[tokio::test]
async fn marketplace_change_set_lifecycle() {
    let base = serve(marketplace::router(
        marketplace::MarketplaceConfig::default(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let entity = marketplace::DEFAULT_ENTITY;
    // GIVEN a started change set
    let (s, started) = json_of(
        c.post(format!("{base}/StartChangeSet"))
            .json(&add_version(
                entity,
                "9.4 20240501-1",
                "ami-0123",
                Some("tok-1"),
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let id = started["ChangeSetId"].as_str().unwrap().to_string();
    assert!(
        started["ChangeSetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("AWSMarketplace/ChangeSet/{id}"))
    );
    // the same token gives the same change set; another change on the entity is refused while open
    let (_, again) = json_of(
        c.post(format!("{base}/StartChangeSet"))
            .json(&add_version(
                entity,
                "9.4 20240501-1",
                "ami-0123",
                Some("tok-1"),
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["ChangeSetId"], id.as_str());
    let locked = c
        .post(format!("{base}/StartChangeSet"))
        .json(&add_version(entity, "other", "ami-9", None))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 423);
    assert_eq!(
        locked.headers()["x-amzn-ErrorType"],
        "ResourceInUseException"
    );
    assert_eq!(
        locked.json::<Value>().await.unwrap()["message"],
        format!("Requested change set has entities locked by change sets - {id}")
    );
    // WHEN it is described until it ends
    let statuses: Vec<String> = futures_statuses(&c, &base, &id, 3).await;
    assert_eq!(statuses, ["PREPARING", "APPLYING", "SUCCEEDED"]);
    // its changes carry their details both as a JSON string and as a document
    let change = &describe(&c, &base, &id).await["ChangeSet"][0];
    let details: Value = serde_json::from_str(change["Details"].as_str().unwrap()).unwrap();
    assert_eq!(details, change["DetailsDocument"]);
    assert_eq!(details["Version"]["VersionTitle"], "9.4 20240501-1");
    // THEN the entity has the version with a public delivery option for the AMI
    let (_, e) = json_of(
        c.get(format!(
            "{base}/DescribeEntity?catalog=AWSMarketplace&entityId={entity}"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(e["EntityType"], "AmiProduct@1.0");
    let v = &e["DetailsDocument"]["Versions"][0];
    assert_eq!(v["VersionTitle"], "9.4 20240501-1");
    assert_eq!(v["Sources"][0]["Image"], "ami-0123");
    assert_eq!(v["Sources"][0]["OperatingSystem"]["ScanningPort"], 22);
    assert_eq!(v["DeliveryOptions"][0]["Visibility"], "Public");
    assert_eq!(
        serde_json::from_str::<Value>(e["Details"].as_str().unwrap()).unwrap(),
        e["DetailsDocument"]
    );
    let option_id = v["DeliveryOptions"][0]["Id"].as_str().unwrap().to_string();
    // a duplicate title and a bad AMI id fail the change set, not the request
    for (title, ami, code) in [
        ("9.4 20240501-1", "ami-0456", "INVALID_INPUT"),
        ("9.5", "snap-1", "INVALID_AMI_ID"),
    ] {
        let (_, s) = json_of(
            c.post(format!("{base}/StartChangeSet"))
                .json(&add_version(entity, title, ami, None))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let cs = s["ChangeSetId"].as_str().unwrap();
        let statuses = futures_statuses(&c, &base, cs, 3).await;
        assert_eq!(statuses[2], "FAILED");
        let d = describe(&c, &base, cs).await;
        assert_eq!(
            (
                d["FailureCode"].as_str(),
                d["ChangeSet"][0]["ErrorDetailList"][0]["ErrorCode"].as_str()
            ),
            (Some("CLIENT_ERROR"), Some(code))
        );
    }
    // Restrict the option; ListChangeSets filters by entity and status
    let restrict = json!({"Catalog": "AWSMarketplace", "ChangeSet": [{"ChangeType": "RestrictDeliveryOptions",
        "Entity": {"Type": "AmiProduct@1.0", "Identifier": entity}, "Details": json!({"DeliveryOptionIds": [option_id]}).to_string()}]});
    let (_, s) = json_of(
        c.post(format!("{base}/StartChangeSet"))
            .json(&restrict)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        futures_statuses(&c, &base, s["ChangeSetId"].as_str().unwrap(), 3).await[2],
        "SUCCEEDED"
    );
    let (_, e) = json_of(
        c.get(format!(
            "{base}/DescribeEntity?catalog=AWSMarketplace&entityId={entity}"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        e["DetailsDocument"]["Versions"][0]["DeliveryOptions"][0]["Visibility"],
        "Restricted"
    );
    let (_, list) = json_of(c.post(format!("{base}/ListChangeSets")).json(&json!({"Catalog": "AWSMarketplace",
        "FilterList": [{"Name": "EntityId", "ValueList": [entity]}, {"Name": "Status", "ValueList": ["FAILED"]}]})).send().await.unwrap()).await;
    assert_eq!(list["ChangeSetSummaryList"].as_array().unwrap().len(), 2);
}

async fn futures_statuses(c: &Client, base: &str, id: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            describe(c, base, id).await["Status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    out
}

#[tokio::test]
async fn marketplace_validates_requests() {
    let base = serve(marketplace::router(
        marketplace::MarketplaceConfig::default(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let mut wrong_catalog = add_version(marketplace::DEFAULT_ENTITY, "t", "ami-1", None);
    wrong_catalog["Catalog"] = json!("Other");
    let unknown = add_version("no-such-entity", "t", "ami-1", None);
    let mut both = add_version(marketplace::DEFAULT_ENTITY, "t", "ami-1", None);
    both["ChangeSet"][0]["Details"] = json!("{}");
    for (body, status, kind) in [
        (wrong_catalog, 422, "ValidationException"),
        (unknown, 404, "ResourceNotFoundException"),
        (both, 422, "ValidationException"),
    ] {
        let r = c
            .post(format!("{base}/StartChangeSet"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["x-amzn-ErrorType"].to_str().unwrap()
            ),
            (status, kind)
        );
    }
    // VALIDATE succeeds without changing the entity
    let mut validate = add_version(marketplace::DEFAULT_ENTITY, "t", "ami-1", None);
    validate["Intent"] = json!("VALIDATE");
    let (_, s) = json_of(
        c.post(format!("{base}/StartChangeSet"))
            .json(&validate)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        futures_statuses(&c, &base, s["ChangeSetId"].as_str().unwrap(), 3).await[2],
        "SUCCEEDED"
    );
    let (_, e) = json_of(
        c.get(format!(
            "{base}/DescribeEntity?catalog=AWSMarketplace&entityId={}",
            marketplace::DEFAULT_ENTITY
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(e["DetailsDocument"]["Versions"], json!([]));
}

#[tokio::test]
async fn faults_are_seeded_and_typed() {
    let base = serve(marketplace::router(
        marketplace::MarketplaceConfig::default(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let url = format!(
        "{base}/DescribeEntity?catalog=AWSMarketplace&entityId={}",
        marketplace::DEFAULT_ENTITY
    );
    let config = json!({"rate": 0.5, "seed": 7, "kinds": ["throttle"]});
    let mut runs = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            c.post(format!("{base}/_fake/faults"))
                .json(&config)
                .send()
                .await
                .unwrap()
                .status(),
            204
        );
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let r = c.get(&url).send().await.unwrap();
            if r.status() == 429 {
                assert_eq!(r.headers()["x-amzn-ErrorType"], "ThrottlingException");
            }
            statuses.push(r.status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
    assert!(
        runs[0].contains(&429) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
    let log: Vec<Recorded> = c
        .get(format!("{base}/_fake/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        log.iter().filter(|r| r.status == 429).count(),
        runs[0].iter().filter(|s| **s == 429).count() * 2
    );
}

#[tokio::test]
async fn denied_writes_leave_reads_alone() {
    let base = serve(rhsm::router(
        rhsm::default_products(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let config = json!({"rate": 1.0, "kinds": ["denied"], "methods": ["PUT", "POST"]});
    let set = c
        .post(format!("{base}/_fake/faults"))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let read = c
        .get(format!("{base}{AMAZON}/provider_image_groups"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let (status, body) = json_of(
        c.post(format!("{base}{AMAZON}/regions"))
            .json(&json!({"regionID": "us-east-1", "providerShortname": "AWS"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body),
        (403, json!({"error": "Access denied (injected)"}))
    );
}

mod mutual_tls {
    use super::*;
    use vmpush_fakes::tls;

    fn client(
        files: &tls::TlsFiles,
        identity: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&files.ca).unwrap()).unwrap();
        let mut builder = Client::builder().add_root_certificate(ca);
        if let Some((cert, key)) = identity {
            let mut pem = std::fs::read(cert).unwrap();
            pem.extend(std::fs::read(key).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }

    #[tokio::test]
    async fn rhsm_requires_a_client_certificate_from_its_ca() {
        // GIVEN an RHSM fake over mutual TLS with a generated CA
        let dir = tempfile::tempdir().unwrap();
        let files = tls::ensure(&dir.path().join("tls")).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = tls::server_config(&files).unwrap();
        tokio::spawn(tls::serve(
            listener,
            rhsm::router(rhsm::default_products(), FaultConfig::default()),
            config,
        ));
        let url = format!("https://127.0.0.1:{port}{AMAZON}/provider_image_groups");
        // THEN the generated client certificate is accepted
        let ok = client(&files, Some((&files.client_cert, &files.client_key)))
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        // AND no certificate, or one from another CA, is refused at the handshake
        assert!(client(&files, None).get(&url).send().await.is_err());
        let other = tls::ensure(&dir.path().join("other")).unwrap();
        let foreign = client(&files, Some((&other.client_cert, &other.client_key)))
            .get(&url)
            .send()
            .await;
        assert!(foreign.is_err(), "{foreign:?}");
        // AND an existing folder is reused as is
        let again = tls::ensure(&dir.path().join("tls")).unwrap();
        assert_eq!(
            std::fs::read(&again.ca).unwrap(),
            std::fs::read(&files.ca).unwrap()
        );
    }
}

#[tokio::test]
async fn marketplace_locks_fails_and_refuses_a_reused_token_on_request() {
    let base = serve(marketplace::router(
        marketplace::MarketplaceConfig::default(),
        FaultConfig::default(),
    ))
    .await;
    let c = Client::new();
    let entity = marketplace::DEFAULT_ENTITY;
    let post = |path: &str, body: Value| {
        let request = c.post(format!("{base}{path}")).json(&body);
        async move { json_of(request.send().await.unwrap()).await }
    };
    let open = json!({"Catalog": "AWSMarketplace", "FilterList": [
        {"Name": "EntityId", "ValueList": [entity]}, {"Name": "Status", "ValueList": ["APPLYING", "PREPARING"]}]});
    // GIVEN the entity locked for 2 polls
    assert_eq!(
        post("/_fake/lock", json!({"entity": entity, "polls": 2}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // THEN a listing shows the foreign change set, a start is refused, then it is free
    let (_, listed) = post("/ListChangeSets", open.clone()).await;
    assert_eq!(listed["ChangeSetSummaryList"][0]["Status"], "APPLYING");
    let (status, refused) = post(
        "/StartChangeSet",
        add_version(entity, "9.4 a", "ami-1", None),
    )
    .await;
    assert_eq!(status, StatusCode::LOCKED, "{refused}");
    let (_, listed) = post("/ListChangeSets", open.clone()).await;
    assert_eq!(listed["ChangeSetSummaryList"], json!([]));

    // GIVEN a failure asked for
    post(
        "/_fake/fail",
        json!({"entity": entity, "code": "INVALID_INPUT", "message": "too short"}),
    )
    .await;
    let (_, started) = post(
        "/StartChangeSet",
        add_version(entity, "9.4 b", "ami-2", Some("tok-a")),
    )
    .await;
    let id = started["ChangeSetId"].as_str().unwrap().to_string();
    let statuses = futures_statuses(&c, &base, &id, 3).await;
    assert_eq!(statuses, ["PREPARING", "APPLYING", "FAILED"]);
    let failed = describe(&c, &base, &id).await;
    assert_eq!(
        failed["ChangeSet"][0]["ErrorDetailList"],
        json!([{"ErrorCode": "INVALID_INPUT", "ErrorMessage": "too short"}])
    );

    // WHEN the token is used again: the same request gets the same change set, another is refused
    let (_, same) = post(
        "/StartChangeSet",
        add_version(entity, "9.4 b", "ami-2", Some("tok-a")),
    )
    .await;
    assert_eq!(same["ChangeSetId"], id.as_str());
    let (status, other) = post(
        "/StartChangeSet",
        add_version(entity, "9.4 c", "ami-3", Some("tok-a")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    assert!(
        other["message"]
            .as_str()
            .unwrap()
            .contains("already used with a different request"),
        "{other}"
    );

    // WHEN a seller only lists the entity's open change sets (waiting for its lock)
    let (_, started) = post(
        "/StartChangeSet",
        add_version(entity, "9.4 d", "ami-4", Some("tok-d")),
    )
    .await;
    let id = started["ChangeSetId"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, listed) = post("/ListChangeSets", open.clone()).await;
        seen.push(listed["ChangeSetSummaryList"].as_array().unwrap().len());
    }
    // THEN the change set moves on by itself, as in AWS, and is applied
    assert_eq!(seen, [1, 1, 0]);
    assert_eq!(describe(&c, &base, &id).await["Status"], "SUCCEEDED");
}

/// Polls a configure job until it completes.
async fn finished_job(c: &Client, api: &str, auth: &str, job: &str) -> Value {
    for _ in 0..10 {
        let (_, status) = json_of(
            c.get(format!("{api}/configure/{job}/status?$version=2022-07-01"))
                .bearer_auth(auth)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if status["jobStatus"] == "completed" {
            return status;
        }
        assert_eq!(status["jobStatus"], "running");
    }
    panic!("job {job} never completed");
}

#[tokio::test]
async fn partner_center_configures_disks_it_can_read_and_moves_submissions() {
    use vmpush_fakes::partner::{self, CONFIGURE_SCHEMA, DEFAULT_OFFER, PartnerConfig};
    let base = serve(partner::router(
        PartnerConfig { job_polls: 2 },
        FaultConfig::default(),
    ))
    .await;
    // a blob the fake can read through its SAS
    let blobs = serve(Router::new().route(
        "/acct/pubupload/{name}",
        axum::routing::get(|| async { (axum::http::StatusCode::PARTIAL_CONTENT, vec![0u8; 512]) }),
    ))
    .await;
    let c = Client::new();
    let api = format!("{base}/rp/product-ingestion");
    // no token, no access; a token needs the client-credentials form
    let refused = c
        .get(format!("{api}/product?$version=2022-07-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "client-1"),
        ("client_secret", "secret-1"),
        ("resource", "https://graph.microsoft.com"),
    ];
    let (s, token) = json_of(
        c.post(format!("{base}/tenant-1/oauth2/token"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let auth = token["access_token"].as_str().unwrap().to_string();
    let unversioned = c
        .get(format!("{api}/product"))
        .bearer_auth(&auth)
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.status(), 400);
    let (_, products) = json_of(
        c.get(format!("{api}/product?$version=2022-07-01"))
            .bearer_auth(&auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        products["value"][0]["identity"]["externalId"],
        DEFAULT_OFFER
    );
    let id = products["value"][0]["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("product/")
        .to_string();
    let (_, draft) = json_of(
        c.get(format!(
            "{api}/resource-tree/product/{id}?$version=2022-07-01&targetType=draft"
        ))
        .bearer_auth(&auth)
        .send()
        .await
        .unwrap(),
    )
    .await;
    let mut config = draft["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["$schema"]
                .as_str()
                .unwrap()
                .contains("technical-configuration")
                && r["skus"][0]["skuId"] == "rhel-9"
        })
        .unwrap()
        .clone();
    let configure = |resources: Value| {
        let c = c.clone();
        let (api, auth) = (api.clone(), auth.clone());
        async move {
            let (s, job) = json_of(
                c.post(format!("{api}/configure?$version=2022-07-01"))
                    .bearer_auth(&auth)
                    .json(&json!({"$schema": CONFIGURE_SCHEMA, "resources": resources}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(s, 202, "{job}");
            finished_job(&c, &api, &auth, job["jobId"].as_str().unwrap()).await
        }
    };
    // a disk it cannot read fails the job; one it can is configured
    let disk = |uri: &str| {
        json!({"versionNumber": "9.4.2024050112", "lifecycleState": "generallyAvailable",
        "vmImages": [{"imageType": "x64Gen2", "source": {"sourceType": "sasUri", "osDisk": {"uri": uri}, "dataDisks": []}}]})
    };
    config["vmImageVersions"] = json!([disk(
        "http://127.0.0.1:1/acct/pubupload/x.vhd?sp=r&sig=s3cr3t"
    )]);
    let failed = configure(json!([config.clone()])).await;
    assert_eq!(
        (&failed["jobResult"], &failed["errors"][0]["code"]),
        (&json!("failed"), &json!("invalidSasUri"))
    );
    config["vmImageVersions"] = json!([disk(&format!(
        "{blobs}/acct/pubupload/rhel.vhd?sp=r&sig=s3cr3t"
    ))]);
    assert_eq!(
        configure(json!([config.clone()])).await["jobResult"],
        "succeeded"
    );
    // draft → preview → live, each from the previous target's submission
    let (_, subs) = json_of(
        c.get(format!("{api}/submission/{id}?$version=2022-07-01"))
            .bearer_auth(&auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut draft_sub = subs["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["targetType"] == "draft")
        .unwrap()
        .clone();
    let mut wrong = draft_sub.clone();
    wrong["target"]["targetType"] = json!("live");
    assert_eq!(
        configure(json!([wrong])).await["errors"][0]["code"],
        "invalidSubmission"
    );
    draft_sub["target"]["targetType"] = json!("preview");
    assert_eq!(
        configure(json!([draft_sub])).await["jobResult"],
        "succeeded"
    );
    let state: Value = c
        .get(format!("{base}/_fake/offers/{DEFAULT_OFFER}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let preview_uris = state["trees"]["preview"].to_string();
    assert!(preview_uris.contains("/acct/pubupload/rhel.vhd"));
    assert!(
        !state["trees"]["live"]
            .to_string()
            .contains("/acct/pubupload/rhel.vhd")
    );
    // the log shows the disk, never its signature
    let log: Vec<Recorded> = c
        .get(format!("{base}/_fake/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        text.contains("sig=REDACTED") && !text.contains("s3cr3t") && !text.contains("secret-1")
    );
}
