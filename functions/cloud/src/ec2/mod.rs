//! Amazon EC2 adapters: snapshot import, copies across regions ([`regions`]) and AMIs
//! ([`images`]).

use aws_config::SdkConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::Region;
use aws_sdk_ec2::types::{
    Filter, ResourceType, SnapshotDiskContainer, Tag, TagSpecification, UserBucket,
};
use snafu::{OptionExt, ResultExt};
use tracing::{info, instrument};
use vmpush_domain::ports::{ImportRequest, ImportTask, Snapshots};
use vmpush_domain::steps::StepError;

use crate::aws::SdkResultExt;

mod error;
pub mod images;
pub mod regions;

/// An EC2 client for one region.
pub fn client(config: &SdkConfig, region: &str) -> Client {
    let builder =
        aws_sdk_ec2::config::Builder::from(config).region(Region::new(region.to_string()));
    Client::from_conf(builder.build())
}

/// The region of a client, for error messages.
fn region_of(client: &Client) -> String {
    client
        .config()
        .region()
        .map_or_else(String::new, ToString::to_string)
}

/// Snapshots and import tasks of the client's account and region.
#[derive(Debug, Clone)]
pub struct Ec2Snapshots {
    client: Client,
    region: String,
    import_role: Option<String>,
}

impl Ec2Snapshots {
    /// Over `client`; imports use VM Import's default service role, `vmimport`.
    pub fn new(client: Client) -> Self {
        Ec2Snapshots {
            region: region_of(&client),
            client,
            import_role: None,
        }
    }

    /// Imports use the service role `name` (ImportSnapshot's `RoleName`) instead of
    /// `vmimport`.
    pub fn with_import_role(self, name: Option<String>) -> Self {
        Ec2Snapshots {
            import_role: name,
            ..self
        }
    }
}

fn name_filter(name: &str) -> Filter {
    Filter::builder().name("tag:Name").values(name).build()
}

/// A filter `name` matching any of `values` (at most [`vmpush_domain::ports::MAX_FILTER_VALUES`]).
fn values_filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// The snapshots that are or will be usable: pending or completed.
fn live_snapshots() -> Filter {
    Filter::builder()
        .name("status")
        .values("pending")
        .values("completed")
        .build()
}

fn task_of(task: &aws_sdk_ec2::types::ImportSnapshotTask) -> ImportTask {
    let detail = task.snapshot_task_detail();
    ImportTask {
        id: task.import_task_id().unwrap_or_default().to_string(),
        status: detail
            .and_then(|d| d.status())
            .unwrap_or("unknown")
            .to_string(),
        message: detail
            .and_then(|d| d.status_message())
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        progress: detail.and_then(|d| d.progress()).map(str::to_string),
        snapshot_id: detail.and_then(|d| d.snapshot_id()).map(str::to_string),
    }
}

fn tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags applied at creation to the new resource of `kind`.
fn tag_specification(kind: ResourceType, pairs: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags(pairs)))
        .build()
}

/// Own snapshots tagged `Name=<name>` that are pending or completed, in the client's region.
async fn named_snapshots(
    client: &Client,
    name: &str,
    region: &str,
) -> Result<Vec<aws_sdk_ec2::types::Snapshot>, StepError> {
    let out = client
        .describe_snapshots()
        .owner_ids("self")
        .filters(name_filter(name))
        .filters(live_snapshots())
        .send()
        .await
        .failure()
        .context(error::FindSnapshotsSnafu { name, region })?;
    Ok(out.snapshots().to_vec())
}

/// Sets tags on a resource (a snapshot) of the client's region.
async fn create_tags(
    client: &Client,
    resource: &str,
    tags_to_set: &[(String, String)],
) -> Result<(), StepError> {
    client
        .create_tags()
        .resources(resource)
        .set_tags(Some(tags(tags_to_set)))
        .send()
        .await
        .failure()
        .context(error::CreateTagsSnafu {
            resource,
            region: region_of(client),
        })?;
    Ok(())
}

impl Snapshots for Ec2Snapshots {
    #[instrument(skip(self))]
    async fn find_snapshots(&self, name: &str) -> Result<Vec<String>, StepError> {
        Ok(named_snapshots(&self.client, name, &self.region)
            .await?
            .iter()
            .filter_map(|s| s.snapshot_id().map(str::to_string))
            .collect())
    }

    #[instrument(skip(self))]
    async fn find_import_tasks(&self, name: &str) -> Result<Vec<ImportTask>, StepError> {
        let out = self
            .client
            .describe_import_snapshot_tasks()
            .filters(name_filter(name))
            .send()
            .await
            .failure()
            .context(error::FindImportTasksSnafu {
                name,
                region: &self.region,
            })?;
        Ok(out.import_snapshot_tasks().iter().map(task_of).collect())
    }

    #[instrument(skip(self, request), fields(name = %request.name, key = %request.key))]
    async fn start_import(&self, request: &ImportRequest) -> Result<ImportTask, StepError> {
        let disk = SnapshotDiskContainer::builder()
            .format(request.format.ec2_value())
            .user_bucket(
                UserBucket::builder()
                    .s3_bucket(&request.bucket)
                    .s3_key(&request.key)
                    .build(),
            )
            .build();
        let out = self
            .client
            .import_snapshot()
            .disk_container(disk)
            .description(format!(
                "vmpush import of s3://{}/{}",
                request.bucket, request.key
            ))
            .client_token(&request.name)
            .set_role_name(self.import_role.clone())
            .tag_specifications(tag_specification(
                ResourceType::ImportSnapshotTask,
                &request.tags,
            ))
            .send()
            .await
            .failure()
            .context(error::ImportSnapshotSnafu {
                bucket: &request.bucket,
                key: &request.key,
                region: &self.region,
            })?;
        let id = out.import_task_id().unwrap_or_default().to_string();
        info!(task = %id, "import started");
        let detail = out.snapshot_task_detail();
        Ok(ImportTask {
            id,
            status: detail
                .and_then(|d| d.status())
                .unwrap_or("active")
                .to_string(),
            message: detail.and_then(|d| d.status_message()).map(str::to_string),
            progress: detail.and_then(|d| d.progress()).map(str::to_string),
            snapshot_id: None,
        })
    }

    #[instrument(skip(self))]
    async fn describe_import(&self, task_id: &str) -> Result<ImportTask, StepError> {
        let out = self
            .client
            .describe_import_snapshot_tasks()
            .import_task_ids(task_id)
            .send()
            .await
            .failure()
            .context(error::DescribeImportTaskSnafu {
                task_id,
                region: &self.region,
            })?;
        let task = out
            .import_snapshot_tasks()
            .first()
            .context(error::ImportTaskMissingSnafu {
                task_id,
                region: &self.region,
            })?;
        Ok(task_of(task))
    }

    #[instrument(skip(self, tags_to_set))]
    async fn tag_snapshot(
        &self,
        snapshot_id: &str,
        tags_to_set: &[(String, String)],
    ) -> Result<(), StepError> {
        create_tags(&self.client, snapshot_id, tags_to_set).await
    }
}

#[cfg(test)]
mod tests {
    use vmpush_domain::ports::{Images, RegionSnapshots, RegisterRequest, Registered};
    use vmpush_domain::steps::ErrorKind;

    use super::images::Ec2Images;
    use super::regions::Ec2Regions;
    use super::*;
    use crate::canned::{always, query_error};

    fn register_request() -> RegisterRequest {
        RegisterRequest {
            name: "RHEL-9".into(),
            description: None,
            architecture: "x86_64".into(),
            virtualization: "hvm".into(),
            root_device: "/dev/sda1".into(),
            snapshot_id: "snap-1".into(),
            volume_type: Some("gp3".into()),
            ena_support: Some(true),
            sriov_net_support: None,
            boot_mode: None,
            billing_products: Vec::new(),
            tpm_support: None,
            imds_support: None,
            uefi_data: None,
            root_volume_size: None,
            tags: Vec::new(),
        }
    }

    async fn images(status: u16, code: &str) -> Ec2Images {
        let sdk = always(status, &query_error(code)).await;
        Ec2Images::new(client(&sdk, "us-east-1"), "us-east-1")
    }

    #[tokio::test]
    async fn each_error_class_is_its_step_error_kind() {
        for (status, code, kind) in [
            (503, "RequestLimitExceeded", ErrorKind::Throttled),
            (400, "Throttling", ErrorKind::Throttled),
            (500, "InternalError", ErrorKind::Transient),
            (503, "Unavailable", ErrorKind::Transient),
            (400, "InvalidAMIID.NotFound", ErrorKind::NotFound),
            (400, "InvalidGroup.Duplicate", ErrorKind::Conflict),
            (403, "UnauthorizedOperation", ErrorKind::Fatal),
        ] {
            let err = images(status, code).await.find("RHEL-9").await.unwrap_err();
            assert_eq!(err.kind, kind, "{code}: {err}");
            assert_eq!(
                err.message,
                format!(
                    "DescribeImages RHEL-9 in us-east-1: {code} (HTTP {status}): {code} happened"
                )
            );
        }
    }

    /// The form fields of an `ec2Query` request body.
    fn form(request: &aws_smithy_runtime_api::client::orchestrator::HttpRequest) -> Vec<String> {
        let body = std::str::from_utf8(request.body().bytes().unwrap_or_default()).unwrap();
        body.split('&').map(str::to_string).collect()
    }

    #[tokio::test]
    async fn register_image_sends_every_planned_feature_and_sharing_names_organizations() {
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sent.clone();
        let sdk = crate::canned::config(move |request| {
            let fields = form(request);
            let answer = if fields.iter().any(|f| f == "Action=RegisterImage") {
                "<RegisterImageResponse><imageId>ami-1</imageId></RegisterImageResponse>"
            } else {
                "<ModifyImageAttributeResponse><return>true</return></ModifyImageAttributeResponse>"
            };
            seen.lock().unwrap().extend(fields);
            (200, answer.to_string())
        })
        .await;
        let images = Ec2Images::new(client(&sdk, "us-east-1"), "us-east-1");
        let request = RegisterRequest {
            boot_mode: Some("uefi".into()),
            tpm_support: Some("v2.0".into()),
            imds_support: Some("v2.0".into()),
            uefi_data: Some("QU1aTlVFRkk=".into()),
            root_volume_size: Some(20),
            ..register_request()
        };
        assert_eq!(
            images.register(&request).await.unwrap(),
            Registered::Created("ami-1".into())
        );
        let org = "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5";
        let ou = "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56";
        let add = vmpush_domain::ports::LaunchPermissions {
            users: vec!["111122223333".into()],
            groups: Vec::new(),
            organizations: vec![org.into()],
            organizational_units: vec![ou.into()],
        };
        images.add_launch_permissions("ami-1", &add).await.unwrap();
        let sent = sent.lock().unwrap();
        let encode = |s: &str| {
            s.replace(':', "%3A")
                .replace('/', "%2F")
                .replace('=', "%3D")
        };
        for field in [
            "BootMode=uefi".to_string(),
            "TpmSupport=v2.0".into(),
            "ImdsSupport=v2.0".into(),
            format!("UefiData={}", encode("QU1aTlVFRkk=")),
            "BlockDeviceMapping.1.Ebs.VolumeSize=20".into(),
            "BlockDeviceMapping.1.Ebs.SnapshotId=snap-1".into(),
            "LaunchPermission.Add.1.UserId=111122223333".into(),
            format!("LaunchPermission.Add.2.OrganizationArn={}", encode(org)),
            format!(
                "LaunchPermission.Add.3.OrganizationalUnitArn={}",
                encode(ou)
            ),
        ] {
            assert!(sent.contains(&field), "{field} not in {sent:?}");
        }
    }

    #[tokio::test]
    async fn an_import_names_the_deployments_service_role_and_its_client_token() {
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sent.clone();
        let sdk = crate::canned::config(move |request| {
            seen.lock().unwrap().push(form(request));
            let answer = "<ImportSnapshotResponse><importTaskId>import-snap-1</importTaskId></ImportSnapshotResponse>";
            (200, answer.to_string())
        })
        .await;
        let request = ImportRequest {
            name: "RHEL-9-snap".into(),
            bucket: "redhat-cloudimg-us-east-1".into(),
            key: "RHEL-9.raw".into(),
            format: vmpush_domain::inputs::item::DiskFormat::Raw,
            tags: vec![("Name".into(), "RHEL-9-snap".into())],
        };
        let own = Ec2Snapshots::new(client(&sdk, "us-east-1"));
        own.clone()
            .with_import_role(Some("vmpush-vmimport".into()))
            .start_import(&request)
            .await
            .unwrap();
        own.start_import(&request).await.unwrap();
        let sent = sent.lock().unwrap();
        assert!(
            sent[0].contains(&"RoleName=vmpush-vmimport".to_string()),
            "{:?}",
            sent[0]
        );
        assert!(
            sent[0].contains(&"ClientToken=RHEL-9-snap".to_string()),
            "{:?}",
            sent[0]
        );
        assert!(
            !sent[1].iter().any(|f| f.starts_with("RoleName=")),
            "without one, VM Import's default: {:?}",
            sent[1]
        );
    }

    #[tokio::test]
    async fn a_duplicate_name_means_another_invocation_registered_it() {
        let registered = images(400, "InvalidAMIName.Duplicate")
            .await
            .register(&register_request())
            .await
            .unwrap();
        assert_eq!(registered, Registered::Duplicate);
        let err = images(400, "InvalidSnapshot.NotFound")
            .await
            .register(&register_request())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    }

    #[tokio::test]
    async fn snapshot_calls_name_the_region_and_the_snapshot() {
        let sdk = always(400, &query_error("InvalidSnapshot.NotFound")).await;
        let err = Ec2Regions::new(sdk)
            .describe("eu-west-1", "snap-9")
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(
            err.message.contains("snap-9") && err.message.contains("eu-west-1"),
            "{err}"
        );
        let sdk = always(503, &query_error("RequestLimitExceeded")).await;
        let err = Ec2Snapshots::new(client(&sdk, "us-east-1"))
            .find_import_tasks("s")
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    }

    #[tokio::test]
    async fn the_survey_asks_for_200_names_at_a_time_and_reads_every_page() {
        use vmpush_domain::ports::RegionSurvey;

        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
        let seen = requests.clone();
        let sdk = crate::canned::config(move |request| {
            let fields = form(request);
            let token = fields.iter().any(|f| f == "NextToken=page-2");
            let names = fields
                .iter()
                .filter(|f| f.starts_with("Filter.1.Value."))
                .count();
            seen.lock().unwrap().push(fields);
            let image = |id: &str, name: &str, state: &str, public: bool| {
                format!(
                    "<item><imageId>{id}</imageId><name>{name}</name><imageState>{state}</imageState><isPublic>{public}</isPublic><rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><snapshotId>snap-{id}</snapshotId></ebs></item></blockDeviceMapping></item>"
                )
            };
            let body = match (names, token) {
                // the first 200 names: two pages
                (200, false) => format!(
                    "<DescribeImagesResponse><imagesSet>{}{}</imagesSet><nextToken>page-2</nextToken></DescribeImagesResponse>",
                    image("ami-1", "n-0", "available", true),
                    image("ami-gone", "n-1", "deregistered", false)
                ),
                (200, true) => format!(
                    "<DescribeImagesResponse><imagesSet>{}</imagesSet></DescribeImagesResponse>",
                    image("ami-2", "n-150", "pending", false)
                ),
                _ => format!(
                    "<DescribeImagesResponse><imagesSet>{}</imagesSet></DescribeImagesResponse>",
                    image("ami-3", "n-249", "available", false)
                ),
            };
            (200, body)
        })
        .await;
        let images = Ec2Images::new(client(&sdk, "us-east-1"), "us-east-1");
        let names: Vec<String> = (0..250).map(|i| format!("n-{i}")).collect();
        let found = images.images_named(&names).await.unwrap();
        let ids: Vec<(&str, &str, bool, Option<&str>)> = found
            .iter()
            .map(|(n, i)| {
                (
                    n.as_str(),
                    i.id.as_str(),
                    i.public,
                    i.snapshot_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                ("n-0", "ami-1", true, Some("snap-ami-1")),
                ("n-150", "ami-2", false, Some("snap-ami-2")),
                ("n-249", "ami-3", false, Some("snap-ami-3")),
            ],
            "deregistered images are not found"
        );
        let requests = requests.lock().unwrap();
        assert_eq!(
            requests.len(),
            3,
            "two pages of the first 200 names, one of the other 50"
        );
        for fields in requests.iter() {
            assert!(fields.iter().any(|f| f == "Owner.1=self"), "{fields:?}");
            assert!(
                fields.iter().any(|f| f == "Filter.1.Name=name"),
                "{fields:?}"
            );
        }
        let count = |fields: &Vec<String>| {
            fields
                .iter()
                .filter(|f| f.starts_with("Filter.1.Value."))
                .count()
        };
        assert_eq!(
            requests.iter().map(count).collect::<Vec<_>>(),
            [200, 200, 50]
        );
    }
    #[tokio::test]
    async fn the_survey_asks_who_may_launch_and_restore_by_account() {
        use vmpush_domain::ports::RegionSurvey;

        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
        let seen = requests.clone();
        let sdk = crate::canned::config(move |request| {
            let fields = form(request);
            let snapshots = fields.iter().any(|f| f == "Action=DescribeSnapshots");
            let token = fields.iter().any(|f| f == "NextToken=page-2");
            seen.lock().unwrap().push(fields);
            let body = match (snapshots, token) {
                (false, false) => "<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId></item></imagesSet><nextToken>page-2</nextToken></DescribeImagesResponse>",
                (false, true) => "<DescribeImagesResponse><imagesSet><item><imageId>ami-3</imageId></item></imagesSet></DescribeImagesResponse>",
                (true, _) => "<DescribeSnapshotsResponse><snapshotSet><item><snapshotId>snap-2</snapshotId></item></snapshotSet></DescribeSnapshotsResponse>",
            };
            (200, body.to_string())
        })
        .await;
        let images = Ec2Images::new(client(&sdk, "us-east-1"), "us-east-1");
        let ids: Vec<String> = ["ami-1", "ami-2", "ami-3"].map(String::from).to_vec();
        let launchable = images.launchable_by(&ids, "111122223333").await.unwrap();
        assert_eq!(launchable, ["ami-1", "ami-3"], "every page");
        let snapshots: Vec<String> = ["snap-1", "snap-2"].map(String::from).to_vec();
        let restorable = images
            .restorable_by(&snapshots, "777788889999")
            .await
            .unwrap();
        assert_eq!(restorable, ["snap-2"]);
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 3);
        for fields in &requests[..2] {
            for field in [
                "Owner.1=self",
                "ExecutableBy.1=111122223333",
                "Filter.1.Name=image-id",
                "Filter.1.Value.3=ami-3",
            ] {
                assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
            }
        }
        for field in [
            "Owner.1=self",
            "RestorableBy.1=777788889999",
            "Filter.1.Name=snapshot-id",
            "Filter.1.Value.2=snap-2",
        ] {
            assert!(
                requests[2].iter().any(|f| f == field),
                "{field}: {:?}",
                requests[2]
            );
        }
    }
    #[tokio::test]
    async fn the_survey_finds_snapshots_by_their_name_tags() {
        use vmpush_domain::ports::RegionSurvey;

        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
        let seen = requests.clone();
        let sdk = crate::canned::config(move |request| {
            seen.lock().unwrap().push(form(request));
            let snapshot = |id: &str, name: Option<&str>, state: &str| {
                let tags = name.map_or(String::new(), |n| {
                    format!("<tagSet><item><key>nvra</key><value>x</value></item><item><key>Name</key><value>{n}</value></item></tagSet>")
                });
                format!("<item><snapshotId>{id}</snapshotId><status>{state}</status>{tags}</item>")
            };
            let body = format!(
                "<DescribeSnapshotsResponse><snapshotSet>{}{}</snapshotSet></DescribeSnapshotsResponse>",
                snapshot("snap-1", Some("n-1"), "completed"),
                snapshot("snap-untagged", None, "completed")
            );
            (200, body)
        })
        .await;
        let images = Ec2Images::new(client(&sdk, "us-east-1"), "us-east-1");
        let names: Vec<String> = (0..201).map(|i| format!("n-{i}")).collect();
        let found = images.snapshots_named(&names).await.unwrap();
        let found: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|(n, s)| (n.as_str(), s.id.as_str(), s.state.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("n-1", "snap-1", "completed"),
                ("n-1", "snap-1", "completed")
            ],
            "one answer per filter of at most 200 names; untagged snapshots are no one's"
        );
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        for fields in requests.iter() {
            for field in [
                "Action=DescribeSnapshots",
                "Owner.1=self",
                "Filter.1.Name=tag%3AName",
                "Filter.2.Name=status",
                "Filter.2.Value.1=pending",
                "Filter.2.Value.2=completed",
            ] {
                assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
            }
        }
        assert!(requests[0].iter().any(|f| f == "Filter.1.Value.200=n-199"));
        assert!(requests[1].iter().any(|f| f == "Filter.1.Value.1=n-200"));
    }
}
