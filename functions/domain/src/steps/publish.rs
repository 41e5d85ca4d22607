//! Publishing one destination (account, region, billing type), in two invocations around the
//! RHSM update, as the reference orders them (RHSM first, then public):
//!
//! - **share**: the AMI is registered from the region's snapshot unless one of that name
//!   exists (a concurrent `InvalidAMIName.Duplicate` means another invocation won: its AMI is
//!   used) — an AMI of the name is reused only when it was registered from this image's
//!   snapshot, else the destination fails —, tagged at creation; launch permission goes to the sharing accounts, organizations
//!   and OUs and the `AWS_GROUPS` groups, create-volume permission on the snapshot to the
//!   snapshot accounts (each filtered to the region's partition, [`crate::plan::sharing`];
//!   only what is missing is added). It never makes the image public; it says whether a
//!   release is due: the plan makes the image public (or `AWS_GROUPS` holds `all`) and the
//!   push is not a pre-push; and whether an AWS Marketplace version is due (the plan asks for
//!   one and the push is not a pre-push). A due release first checks the region's image block
//!   public access: when it blocks, the destination fails before anything is registered.
//! - **release**, once RHSM knows the image: the AMI becomes public (`Group: all`); its
//!   snapshot stays private (Red Hat's rule) unless asked otherwise. The region's block
//!   state is not read again first: EC2 refuses a public grant where it blocks, and only a
//!   refused grant reads it, to name the block as the cause (one call per AMI saved).

use tracing::info;

use crate::payloads::{PublishAction, PublishInput, PublishOutput};
use crate::plan::sharing::{self, PUBLIC_GROUP};
use crate::ports::{Image, Images, LaunchPermissions, RegisterRequest, Registered};
use crate::steps::copy_regions::copy_tags;
use crate::steps::{ErrorKind, StepError};

/// The AMI and snapshot tags: the destination's own tags, the provenance tags, `billing_type`.
fn tags_of(input: &PublishInput) -> Vec<(String, String)> {
    let mut tags = input.destination.own_tags();
    for (k, v) in &input.tags {
        tags.retain(|(key, _)| key != k);
        tags.push((k.clone(), v.clone()));
    }
    if let Some(billing) = &input.destination.billing_type {
        tags.retain(|(key, _)| key != "billing_type");
        tags.push(("billing_type".into(), billing.clone()));
    }
    tags
}

/// Whether the snapshot carries `tags` already: a copy this push made was created with the
/// tags its destinations have in common ([`copy_tags`]).
fn tagged_at_copy(input: &PublishInput, tags: &[(String, String)]) -> bool {
    input.new_snapshot && {
        let made = copy_tags("", &input.copy_tags, &input.tags);
        tags.iter().all(|t| made.contains(t))
    }
}

/// The one AMI of `name`, if any; several are a conflict.
async fn existing<I: Images>(
    images: &I,
    name: &str,
    region: &str,
) -> Result<Option<Image>, StepError> {
    let mut found = images.find(name).await?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(StepError::new(
            ErrorKind::Conflict,
            format!(
                "{n} AMIs are named {name} in {region}: {}",
                found
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// An AMI found by name is this destination's only when it was registered from this
/// image's snapshot: another image under the same name (a rebuild that kept it, a name taken
/// by hand) fails the destination instead of being reported as pushed.
fn check_same_image(
    image: &Image,
    input: &PublishInput,
    name: &str,
    region: &str,
) -> Result<(), StepError> {
    match &image.snapshot_id {
        Some(theirs) if *theirs != input.snapshot_id => Err(StepError::new(
            ErrorKind::Fatal,
            format!(
                "{name} in {region}: {} of that name was registered from {theirs}, not from this image's {}; another image holds the name",
                image.id, input.snapshot_id
            ),
        )),
        _ => Ok(()),
    }
}

/// The sharing accounts the survey found `image` to grant launch permission already, when
/// the survey found this very AMI and `wanted` holds accounts alone (the survey cannot tell
/// organizations and OUs).
fn surveyed_launch_users(
    input: &PublishInput,
    image: &Image,
    wanted: &LaunchPermissions,
) -> Option<Vec<String>> {
    let surveyed = input.surveyed.as_ref()?;
    (surveyed.image.as_ref()?.id == image.id && wanted.accounts_only())
        .then(|| surveyed.launch_users.clone())
        .flatten()
}

/// The snapshot accounts the survey found this destination's snapshot to grant create-volume
/// permission already, when the AMI it found is `image`, registered from that snapshot.
fn surveyed_volume_users(input: &PublishInput, image: &Image) -> Option<Vec<String>> {
    let surveyed = input.surveyed.as_ref()?;
    let theirs = surveyed.image.as_ref()?;
    (theirs.id == image.id && theirs.snapshot_id.as_deref() == Some(input.snapshot_id.as_str()))
        .then(|| surveyed.volume_users.clone())
        .flatten()
}

/// Publishes one destination: shares or releases it, as `input.action` says.
pub async fn run<I: Images>(images: &I, input: &PublishInput) -> Result<PublishOutput, StepError> {
    match input.action {
        PublishAction::Share => share(images, input).await,
        PublishAction::Release => release(images, input).await,
    }
}

/// The AMI name and region a destination was planned with.
fn placed(input: &PublishInput) -> Result<(String, String), StepError> {
    let d = &input.destination;
    let name = d
        .ami_name
        .clone()
        .ok_or_else(|| StepError::invalid(format!("{}: no AMI name planned", d.destination)))?;
    let region = d
        .region
        .clone()
        .ok_or_else(|| StepError::invalid(format!("{}: no region planned", d.destination)))?;
    Ok((name, region))
}

/// Whether the destination is to be public once RHSM knows it.
fn release_due(input: &PublishInput) -> bool {
    let d = &input.destination;
    (d.public || sharing::groups_make_public(&d.groups)) && !input.pre_push
}

/// Whether the destination becomes an AWS Marketplace product version once RHSM knows it.
fn version_due(input: &PublishInput) -> bool {
    let d = &input.destination;
    d.marketplace.as_ref().is_some_and(|m| m.version.is_some()) && !input.pre_push
}

/// The failure of a destination whose region blocks public sharing.
fn sharing_blocked(name: &str, region: &str, consequence: &str) -> StepError {
    StepError::new(
        ErrorKind::Conflict,
        format!(
            "{name} in {region}: image block public access is on in this region; {consequence}"
        ),
    )
}

/// Fails a destination whose region blocks public sharing.
async fn check_public_sharing<I: Images>(
    images: &I,
    name: &str,
    region: &str,
    consequence: &str,
) -> Result<(), StepError> {
    if images.public_sharing_blocked().await? {
        return Err(sharing_blocked(name, region, consequence));
    }
    Ok(())
}

/// Registers (get-or-create) and shares one destination's AMI; never public.
async fn share<I: Images>(images: &I, input: &PublishInput) -> Result<PublishOutput, StepError> {
    let d = &input.destination;
    let (name, region) = placed(input)?;
    let partition = d.partition.as_deref().unwrap_or("aws");
    let label = |field: &str, e: String| {
        StepError::invalid(format!("{} {}: {field}: {e}", d.account, d.destination))
    };
    let wanted = sharing::launch_permissions(&d.sharing_accounts, &d.groups, partition)
        .map_err(|e| label("sharing_accounts", e))?;
    let snapshot_users = sharing::snapshot_accounts(&d.snapshot_accounts, partition)
        .map_err(|e| label("snapshot_accounts", e))?;
    let snapshot_id = &input.snapshot_id;
    let tags = tags_of(input);
    let release = release_due(input);
    // the survey's finding, else a look-up of our own
    let found = match &input.surveyed {
        Some(surveyed) => surveyed.image.clone(),
        None => existing(images, &name, &region).await?,
    };
    // an image public already needs no check: nothing new becomes public
    if release && !found.as_ref().is_some_and(|i| i.public) {
        let consequence = "nothing was registered or shared";
        match input.surveyed.as_ref().and_then(|s| s.sharing_blocked) {
            Some(true) => return Err(sharing_blocked(&name, &region, consequence)),
            Some(false) => {}
            None => check_public_sharing(images, &name, &region, consequence).await?,
        }
    }
    let (image, created) = match found {
        Some(image) => (image, false),
        None => {
            let request = RegisterRequest {
                name: name.clone(),
                description: d.description.clone(),
                architecture: d.architecture.clone(),
                virtualization: d.virtualization.clone().unwrap_or_else(|| "hvm".into()),
                root_device: d.root_device.clone().unwrap_or_else(|| "/dev/sda1".into()),
                snapshot_id: snapshot_id.clone(),
                volume_type: d.volume.clone(),
                ena_support: d.ena_support,
                sriov_net_support: d.sriov_net_support.clone(),
                boot_mode: d.boot_mode.clone(),
                billing_products: d
                    .billing_codes
                    .as_ref()
                    .map(|b| b.codes.clone())
                    .unwrap_or_default(),
                tpm_support: d.features.tpm_support.clone(),
                imds_support: d.features.imds_support.clone(),
                uefi_data: d.features.uefi_data.clone(),
                root_volume_size: d.features.root_device_volume_size,
                tags: tags.clone(),
            };
            match images.register(&request).await? {
                Registered::Created(id) => {
                    if !tagged_at_copy(input, &tags) {
                        images.tag_snapshot(snapshot_id, &tags).await?;
                    }
                    info!(ami = %id, %name, %region, "registered");
                    (
                        Image {
                            id,
                            state: "pending".into(),
                            snapshot_id: Some(snapshot_id.clone()),
                            public: false,
                        },
                        true,
                    )
                }
                Registered::Duplicate => {
                    let image = existing(images, &name, &region).await?.ok_or_else(|| {
                        StepError::new(
                            ErrorKind::Transient,
                            format!("RegisterImage {name} in {region}: a duplicate that cannot be found yet"),
                        )
                    })?;
                    (image, false)
                }
            }
        }
    };
    check_same_image(&image, input, &name, &region)?;
    if image.state == "failed" {
        return Err(StepError::new(
            ErrorKind::Fatal,
            format!("AMI {} ({name}) in {region} failed", image.id),
        ));
    }

    // an image registered just now is shared with no one yet; one that shares with no one
    // needs only its public state, which DescribeImages gave; the survey read the others'
    let public_only = LaunchPermissions {
        groups: if image.public {
            vec![PUBLIC_GROUP.into()]
        } else {
            Vec::new()
        },
        ..LaunchPermissions::default()
    };
    let current = if created || wanted.is_empty() {
        public_only
    } else if let Some(users) = surveyed_launch_users(input, &image, &wanted) {
        LaunchPermissions {
            users,
            ..public_only
        }
    } else {
        images.launch_permissions(&image.id).await?
    };
    let add = wanted.missing_from(&current);
    if !add.is_empty() {
        images.add_launch_permissions(&image.id, &add).await?;
    }
    let mut snapshot_add = Vec::new();
    if !snapshot_users.is_empty() {
        // a snapshot this push's copy made is shared with no one yet
        let current = if input.new_snapshot {
            Vec::new()
        } else if let Some(users) = surveyed_volume_users(input, &image) {
            users
        } else {
            images.volume_permissions(snapshot_id).await?
        };
        snapshot_add = snapshot_users
            .into_iter()
            .filter(|a| !current.contains(a))
            .collect();
        if !snapshot_add.is_empty() {
            images
                .add_volume_permissions(snapshot_id, &snapshot_add)
                .await?;
        }
    }
    let mut shared_with = add.users;
    shared_with.extend(add.organizations);
    shared_with.extend(add.organizational_units);
    Ok(PublishOutput {
        id: input.id.clone(),
        ami: image.id,
        name,
        region,
        snapshot: snapshot_id.clone(),
        created,
        public: image.public || current.groups.iter().any(|g| g == PUBLIC_GROUP),
        release,
        version: version_due(input),
        shared_with,
        snapshot_shared_with: snapshot_add,
    })
}

/// Makes a shared AMI public (and its snapshot, where configured), once RHSM knows it.
async fn release<I: Images>(images: &I, input: &PublishInput) -> Result<PublishOutput, StepError> {
    let (name, region) = placed(input)?;
    if !release_due(input) {
        return Err(StepError::invalid(format!(
            "{name} in {region}: a release was asked for a destination that is not to be public"
        )));
    }
    // the share step's AMI, checked there to be this image's; else the one of the name
    let (ami, public) = match &input.ami {
        Some(ami) => (ami.clone(), input.public),
        None => {
            let image = existing(images, &name, &region).await?.ok_or_else(|| {
                StepError::new(
                    ErrorKind::NotFound,
                    format!(
                        "{name} in {region}: no such AMI to release (the share step registers it)"
                    ),
                )
            })?;
            check_same_image(&image, input, &name, &region)?;
            (image.id, image.public)
        }
    };
    if !public {
        // adding `all` to an image that has it already changes nothing; a region blocking
        // public sharing refuses it, and only then is the block state read, to say so
        let public = LaunchPermissions {
            groups: vec![PUBLIC_GROUP.into()],
            ..LaunchPermissions::default()
        };
        if let Err(refused) = images.add_launch_permissions(&ami, &public).await {
            check_public_sharing(images, &name, &region, "the image stays private").await?;
            return Err(refused);
        }
        info!(%ami, %name, %region, "released publicly");
    }
    let snapshot_id = &input.snapshot_id;
    let mut snapshot_add = Vec::new();
    if input.public_snapshot {
        let current = images.volume_permissions(snapshot_id).await?;
        if !current.iter().any(|a| a == PUBLIC_GROUP) {
            snapshot_add.push(PUBLIC_GROUP.to_string());
            images
                .add_volume_permissions(snapshot_id, &snapshot_add)
                .await?;
        }
    }
    Ok(PublishOutput {
        id: input.id.clone(),
        ami,
        name,
        region,
        snapshot: snapshot_id.clone(),
        created: false,
        public: true,
        release: false,
        version: version_due(input),
        shared_with: Vec::new(),
        snapshot_shared_with: snapshot_add,
    })
}

#[cfg(test)]
mod tests;
