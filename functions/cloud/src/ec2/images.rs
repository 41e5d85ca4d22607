//! AMIs and their permissions in one region: the publish step's adapter, and the AMIs of
//! Marketplace versions (marketplace-version's).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    ArchitectureValues, BlockDeviceMapping, BootModeValues, CreateVolumePermission,
    CreateVolumePermissionModifications, EbsBlockDevice, Filter, ImageAttributeName,
    ImdsSupportValues, LaunchPermission, LaunchPermissionModifications, PermissionGroup,
    ResourceType, SnapshotAttributeName, TpmSupportValues, VolumeType,
};
use snafu::{IntoError, OptionExt, ResultExt};
use tracing::{info, instrument};
use vmpush_domain::ports::{
    Image, Images, LaunchPermissions, MAX_FILTER_VALUES, OwnedImage, ProductImages, RegionSurvey,
    RegisterRequest, Registered, SnapshotState,
};
use vmpush_domain::steps::StepError;

use super::regions::state_of;
use super::{create_tags, error, live_snapshots, tag_specification, values_filter};
use crate::aws::SdkResultExt;

/// AMIs of the client's account and region.
#[derive(Debug, Clone)]
pub struct Ec2Images {
    client: Client,
    region: String,
}

impl Ec2Images {
    /// Over `client`, a client of `region`.
    pub fn new(client: Client, region: &str) -> Self {
        Ec2Images {
            client,
            region: region.to_string(),
        }
    }
}

/// The snapshot of an AMI's root device (else of its first EBS volume).
fn root_snapshot(image: &aws_sdk_ec2::types::Image) -> Option<String> {
    let mappings = image.block_device_mappings();
    let snapshot =
        |m: &BlockDeviceMapping| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_string);
    mappings
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == image.root_device_name())
        .and_then(snapshot)
        .or_else(|| mappings.iter().find_map(snapshot))
}

/// An AMI as the domain sees it.
fn image_of(i: &aws_sdk_ec2::types::Image) -> Image {
    Image {
        id: i.image_id().unwrap_or_default().to_string(),
        state: i.state().map_or("unknown", |s| s.as_str()).to_string(),
        snapshot_id: root_snapshot(i),
        public: i.public().unwrap_or(false),
    }
}

impl RegionSurvey for Ec2Images {
    #[instrument(skip(self, names), fields(names = names.len(), region = %self.region))]
    async fn images_named(&self, names: &[String]) -> Result<Vec<(String, Image)>, StepError> {
        let mut found = Vec::new();
        for chunk in names.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_images()
                .owners("self")
                .filters(values_filter("name", chunk))
                .max_results(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.failure().context(error::DescribeImagesSnafu {
                    name: format!("{} names", chunk.len()),
                    region: &self.region,
                })?;
                for i in page.images() {
                    let image = image_of(i);
                    if let (Some(name), false) = (i.name(), image.state == "deregistered") {
                        found.push((name.to_string(), image));
                    }
                }
            }
        }
        Ok(found)
    }

    async fn sharing_blocked(&self) -> Result<bool, StepError> {
        self.public_sharing_blocked().await
    }

    #[instrument(skip(self, names), fields(names = names.len(), region = %self.region))]
    async fn snapshots_named(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, SnapshotState)>, StepError> {
        let mut found = Vec::new();
        for chunk in names.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_snapshots()
                .owner_ids("self")
                .filters(values_filter("tag:Name", chunk))
                .filters(live_snapshots())
                .max_results(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.failure().context(error::FindSnapshotsSnafu {
                    name: format!("{} names", chunk.len()),
                    region: &self.region,
                })?;
                for snapshot in page.snapshots() {
                    let name = snapshot
                        .tags()
                        .iter()
                        .find(|t| t.key() == Some("Name"))
                        .and_then(|t| t.value());
                    if let Some(name) = name {
                        found.push((name.to_string(), state_of(snapshot)));
                    }
                }
            }
        }
        Ok(found)
    }

    #[instrument(skip(self, image_ids), fields(images = image_ids.len(), region = %self.region))]
    async fn launchable_by(
        &self,
        image_ids: &[String],
        user: &str,
    ) -> Result<Vec<String>, StepError> {
        let mut found = Vec::new();
        for chunk in image_ids.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_images()
                .owners("self")
                .executable_users(user)
                .filters(values_filter("image-id", chunk))
                .max_results(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.failure().context(error::DescribeLaunchableSnafu {
                    user,
                    images: chunk.len(),
                    region: &self.region,
                })?;
                found.extend(
                    page.images()
                        .iter()
                        .filter_map(|i| i.image_id().map(str::to_string)),
                );
            }
        }
        Ok(found)
    }

    #[instrument(skip(self, snapshot_ids), fields(snapshots = snapshot_ids.len(), region = %self.region))]
    async fn restorable_by(
        &self,
        snapshot_ids: &[String],
        user: &str,
    ) -> Result<Vec<String>, StepError> {
        let mut found = Vec::new();
        for chunk in snapshot_ids.chunks(MAX_FILTER_VALUES) {
            let mut pages = self
                .client
                .describe_snapshots()
                .owner_ids("self")
                .restorable_by_user_ids(user)
                .filters(values_filter("snapshot-id", chunk))
                .max_results(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.failure().context(error::DescribeRestorableSnafu {
                    user,
                    snapshots: chunk.len(),
                    region: &self.region,
                })?;
                found.extend(
                    page.snapshots()
                        .iter()
                        .filter_map(|s| s.snapshot_id().map(str::to_string)),
                );
            }
        }
        Ok(found)
    }
}

impl Images for Ec2Images {
    #[instrument(skip(self))]
    async fn find(&self, name: &str) -> Result<Vec<Image>, StepError> {
        let out = self
            .client
            .describe_images()
            .owners("self")
            .filters(Filter::builder().name("name").values(name).build())
            .send()
            .await
            .failure()
            .context(error::DescribeImagesSnafu {
                name,
                region: &self.region,
            })?;
        Ok(out
            .images()
            .iter()
            .filter(|i| i.name() == Some(name))
            .map(image_of)
            .filter(|i| i.state != "deregistered")
            .collect())
    }

    #[instrument(skip(self, request), fields(name = %request.name))]
    async fn register(&self, request: &RegisterRequest) -> Result<Registered, StepError> {
        let root = BlockDeviceMapping::builder()
            .device_name(&request.root_device)
            .ebs(
                EbsBlockDevice::builder()
                    .snapshot_id(&request.snapshot_id)
                    .set_volume_type(request.volume_type.as_deref().map(VolumeType::from))
                    .set_volume_size(
                        request
                            .root_volume_size
                            .map(|gib| i32::try_from(gib).unwrap_or(i32::MAX)),
                    )
                    .delete_on_termination(true)
                    .build(),
            )
            .build();
        let sent = self
            .client
            .register_image()
            .name(&request.name)
            .set_description(request.description.clone())
            .architecture(ArchitectureValues::from(request.architecture.as_str()))
            .virtualization_type(&request.virtualization)
            .root_device_name(&request.root_device)
            .block_device_mappings(root)
            .set_ena_support(request.ena_support)
            .set_sriov_net_support(request.sriov_net_support.clone())
            .set_boot_mode(request.boot_mode.as_deref().map(BootModeValues::from))
            .set_tpm_support(request.tpm_support.as_deref().map(TpmSupportValues::from))
            .set_imds_support(request.imds_support.as_deref().map(ImdsSupportValues::from))
            .set_uefi_data(request.uefi_data.clone())
            .set_billing_products(
                (!request.billing_products.is_empty()).then(|| request.billing_products.clone()),
            )
            .tag_specifications(tag_specification(ResourceType::Image, &request.tags))
            .send()
            .await
            .failure();
        match sent {
            Ok(out) => {
                let id = out
                    .image_id()
                    .map(str::to_string)
                    .context(error::NoImageIdSnafu {
                        name: &request.name,
                        region: &self.region,
                    })?;
                info!(ami = %id, "registered");
                Ok(Registered::Created(id))
            }
            Err(failure) if failure.code() == "InvalidAMIName.Duplicate" => {
                Ok(Registered::Duplicate)
            }
            Err(failure) => Err(error::RegisterImageSnafu {
                name: &request.name,
                region: &self.region,
            }
            .into_error(failure)
            .into()),
        }
    }

    async fn tag_snapshot(
        &self,
        snapshot_id: &str,
        tags_to_set: &[(String, String)],
    ) -> Result<(), StepError> {
        create_tags(&self.client, snapshot_id, tags_to_set).await
    }

    async fn launch_permissions(&self, image_id: &str) -> Result<LaunchPermissions, StepError> {
        let out = self
            .client
            .describe_image_attribute()
            .image_id(image_id)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .failure()
            .context(error::DescribeImageAttributeSnafu {
                image_id,
                region: &self.region,
            })?;
        let mut permissions = LaunchPermissions::default();
        for p in out.launch_permissions() {
            if let Some(user) = p.user_id() {
                permissions.users.push(user.to_string());
            }
            if let Some(group) = p.group() {
                permissions.groups.push(group.as_str().to_string());
            }
            if let Some(org) = p.organization_arn() {
                permissions.organizations.push(org.to_string());
            }
            if let Some(ou) = p.organizational_unit_arn() {
                permissions.organizational_units.push(ou.to_string());
            }
        }
        Ok(permissions)
    }

    async fn add_launch_permissions(
        &self,
        image_id: &str,
        add: &LaunchPermissions,
    ) -> Result<(), StepError> {
        let mut permissions: Vec<LaunchPermission> = add
            .users
            .iter()
            .map(|u| LaunchPermission::builder().user_id(u).build())
            .collect();
        permissions.extend(add.groups.iter().map(|g| {
            LaunchPermission::builder()
                .group(PermissionGroup::from(g.as_str()))
                .build()
        }));
        permissions.extend(
            add.organizations
                .iter()
                .map(|arn| LaunchPermission::builder().organization_arn(arn).build()),
        );
        permissions.extend(add.organizational_units.iter().map(|arn| {
            LaunchPermission::builder()
                .organizational_unit_arn(arn)
                .build()
        }));
        self.client
            .modify_image_attribute()
            .image_id(image_id)
            .launch_permission(
                LaunchPermissionModifications::builder()
                    .set_add(Some(permissions))
                    .build(),
            )
            .send()
            .await
            .failure()
            .context(error::ModifyImageAttributeSnafu {
                image_id,
                region: &self.region,
            })?;
        Ok(())
    }

    async fn volume_permissions(&self, snapshot_id: &str) -> Result<Vec<String>, StepError> {
        let out = self
            .client
            .describe_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .failure()
            .context(error::DescribeSnapshotAttributeSnafu {
                snapshot_id,
                region: &self.region,
            })?;
        Ok(out
            .create_volume_permissions()
            .iter()
            .filter_map(|p| {
                p.user_id()
                    .map(str::to_string)
                    .or_else(|| p.group().map(|g| g.as_str().to_string()))
            })
            .collect())
    }

    async fn add_volume_permissions(
        &self,
        snapshot_id: &str,
        users: &[String],
    ) -> Result<(), StepError> {
        let permissions: Vec<CreateVolumePermission> = users
            .iter()
            .map(|u| match u.as_str() {
                "all" => CreateVolumePermission::builder()
                    .group(PermissionGroup::All)
                    .build(),
                _ => CreateVolumePermission::builder().user_id(u).build(),
            })
            .collect();
        self.client
            .modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .create_volume_permission(
                CreateVolumePermissionModifications::builder()
                    .set_add(Some(permissions))
                    .build(),
            )
            .send()
            .await
            .failure()
            .context(error::ModifySnapshotAttributeSnafu {
                snapshot_id,
                region: &self.region,
            })?;
        Ok(())
    }

    async fn public_sharing_blocked(&self) -> Result<bool, StepError> {
        let out = self
            .client
            .get_image_block_public_access_state()
            .send()
            .await
            .failure()
            .context(error::PublicAccessStateSnafu {
                region: &self.region,
            })?;
        Ok(out.image_block_public_access_state() == Some("block-new-sharing"))
    }
}

/// Whether a failure says the resource is not there (any more).
fn gone(failure: &crate::aws::SdkFailure) -> bool {
    failure.code().ends_with(".NotFound") || failure.code().ends_with(".Malformed")
}

impl ProductImages for Ec2Images {
    #[instrument(skip(self))]
    async fn image(&self, id: &str) -> Result<Option<OwnedImage>, StepError> {
        let sent = self
            .client
            .describe_images()
            .owners("self")
            .image_ids(id)
            .send()
            .await
            .failure();
        let out = match sent {
            Ok(out) => out,
            Err(failure) if gone(&failure) => return Ok(None),
            Err(failure) => {
                return Err(error::DescribeImageSnafu {
                    image_id: id,
                    region: &self.region,
                }
                .into_error(failure)
                .into());
            }
        };
        Ok(out
            .images()
            .iter()
            .find(|i| {
                i.image_id() == Some(id) && i.state().is_none_or(|s| s.as_str() != "deregistered")
            })
            .map(|i| OwnedImage {
                id: id.to_string(),
                snapshots: i
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
                    .collect(),
                tags: i
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            }))
    }

    async fn tag_image(&self, id: &str, tags: &[(String, String)]) -> Result<(), StepError> {
        create_tags(&self.client, id, tags).await
    }

    #[instrument(skip(self))]
    async fn deregister(&self, id: &str) -> Result<(), StepError> {
        match self
            .client
            .deregister_image()
            .image_id(id)
            .send()
            .await
            .failure()
        {
            Ok(_) => Ok(()),
            Err(failure) if gone(&failure) => Ok(()),
            Err(failure) => Err(error::DeregisterImageSnafu {
                image_id: id,
                region: &self.region,
            }
            .into_error(failure)
            .into()),
        }
    }

    #[instrument(skip(self))]
    async fn delete_snapshot(&self, id: &str) -> Result<(), StepError> {
        match self
            .client
            .delete_snapshot()
            .snapshot_id(id)
            .send()
            .await
            .failure()
        {
            Ok(_) => Ok(()),
            Err(failure) if gone(&failure) => Ok(()),
            Err(failure) => Err(error::DeleteSnapshotSnafu {
                snapshot_id: id,
                region: &self.region,
            }
            .into_error(failure)
            .into()),
        }
    }
}

/// The survey of each account's regions, as that account: resolve-mapping's look-up of what a
/// push's destinations already have.
#[cfg(feature = "secrets")]
#[derive(Debug)]
pub struct Ec2Surveys {
    identities: crate::identity::Identities,
}

#[cfg(feature = "secrets")]
impl Ec2Surveys {
    /// Surveys acting with `identities`.
    pub fn new(identities: crate::identity::Identities) -> Self {
        Ec2Surveys { identities }
    }
}

#[cfg(feature = "secrets")]
impl vmpush_domain::ports::Surveys for Ec2Surveys {
    type Region = Ec2Images;

    async fn region(&self, account: &str, region: &str) -> Result<Ec2Images, StepError> {
        let config = self.identities.config(account, region).await?;
        Ok(Ec2Images::new(super::client(&config, region), region))
    }
}
