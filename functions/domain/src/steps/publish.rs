//! Publishing one destination (account, region, billing type): the AMI is registered from the
//! region's snapshot unless one of that name exists (a concurrent `InvalidAMIName.Duplicate`
//! means another invocation won: its AMI is used), tagged at creation; launch permission goes
//! to the sharing accounts and create-volume permission on the snapshot to the snapshot
//! accounts (each filtered to the region's partition, only what is missing is added); the AMI
//! becomes public (`Group: all`) only when the plan says so and the push is not a pre-push.
//! A public destination first checks the region's image block public access: when it blocks,
//! the destination fails before anything is registered. The snapshot of a
//! public image stays private (Red Hat's rule) unless asked otherwise.

use tracing::info;

use crate::payloads::{PublishInput, PublishOutput};
use crate::ports::{Image, Images, LaunchPermissions, RegisterRequest, Registered};
use crate::steps::{ErrorKind, StepError};

/// The accounts of `entries` that apply in `partition`: `<account>` everywhere,
/// `<partition>:<account>` (awspub's form) only there.
pub fn accounts_in(entries: &[String], partition: &str) -> Vec<String> {
    let mut accounts: Vec<String> = entries
        .iter()
        .filter_map(|e| match e.split_once(':') {
            Some((p, account)) => (p == partition).then(|| account.to_string()),
            None => Some(e.clone()),
        })
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}

/// The AMI and snapshot tags: the destination's tags, the provenance tags, `billing_type`.
fn tags_of(input: &PublishInput) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = input
        .destination
        .tags
        .iter()
        .map(|(k, v)| {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), value)
        })
        .collect();
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

/// Publishes one destination.
pub async fn run<I: Images>(images: &I, input: &PublishInput) -> Result<PublishOutput, StepError> {
    let d = &input.destination;
    let name = d
        .ami_name
        .clone()
        .ok_or_else(|| StepError::invalid(format!("{}: no AMI name planned", d.destination)))?;
    let region = d
        .region
        .clone()
        .ok_or_else(|| StepError::invalid(format!("{}: no region planned", d.destination)))?;
    let partition = d.partition.as_deref().unwrap_or("aws");
    let snapshot_id = &input.snapshot_id;
    let tags = tags_of(input);
    let going_public = d.public && !input.pre_push;
    if going_public && images.public_sharing_blocked().await? {
        return Err(StepError::new(
            ErrorKind::Conflict,
            format!(
                "{name} in {region}: image block public access is on in this region; nothing was registered or shared"
            ),
        ));
    }
    let (image, created) = match existing(images, &name, &region).await? {
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
                tags: tags.clone(),
            };
            match images.register(&request).await? {
                Registered::Created(id) => {
                    images.tag_snapshot(snapshot_id, &tags).await?;
                    info!(ami = %id, %name, %region, "registered");
                    (
                        Image {
                            id,
                            state: "pending".into(),
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
    if image.state == "failed" {
        return Err(StepError::new(
            ErrorKind::Fatal,
            format!("AMI {} ({name}) in {region} failed", image.id),
        ));
    }

    // an image registered just now is shared with no one yet
    let current = if created {
        LaunchPermissions::default()
    } else {
        images.launch_permissions(&image.id).await?
    };
    let mut add = LaunchPermissions {
        users: accounts_in(&d.sharing_accounts, partition)
            .into_iter()
            .filter(|a| !current.users.contains(a))
            .collect(),
        groups: Vec::new(),
    };
    if going_public && !current.groups.iter().any(|g| g == "all") {
        add.groups.push("all".into());
    }
    if !add.users.is_empty() || !add.groups.is_empty() {
        images.add_launch_permissions(&image.id, &add).await?;
    }
    let snapshot_users = accounts_in(&d.snapshot_accounts, partition);
    let mut snapshot_add = Vec::new();
    let public_snapshot = going_public && input.public_snapshot;
    if !snapshot_users.is_empty() || public_snapshot {
        let current = images.volume_permissions(snapshot_id).await?;
        snapshot_add = snapshot_users
            .into_iter()
            .filter(|a| !current.contains(a))
            .collect();
        if public_snapshot && !current.iter().any(|a| a == "all") {
            snapshot_add.push("all".into());
        }
        if !snapshot_add.is_empty() {
            images
                .add_volume_permissions(snapshot_id, &snapshot_add)
                .await?;
        }
    }
    Ok(PublishOutput {
        id: input.id.clone(),
        ami: image.id,
        name,
        region,
        snapshot: snapshot_id.clone(),
        created,
        public: going_public || current.groups.iter().any(|g| g == "all"),
        shared_with: add.users,
        snapshot_shared_with: snapshot_add,
    })
}

#[cfg(test)]
mod tests;
