//! Whom an image and its snapshot are shared with, per partition. A sharing entry (of the
//! mapping's `accounts`/`sharing_accounts`/`snapshot_accounts`, or the credentials'
//! `AWS_ACCOUNTS`/`AWS_SNAPSHOT_ACCOUNTS`) is an account id, valid in every partition;
//! `<partition>:<account>` (awspub's form), valid in that partition only; or an organization
//! or organizational-unit ARN (`arn:<partition>:organizations::<account>:organization/o-…`,
//! `…:ou/o-…/ou-…`), valid in its ARN's partition. EC2 shares snapshots with accounts only.
//! Launch-permission groups (`AWS_GROUPS`) are EC2's: `all`, which makes the image public.

use crate::ports::LaunchPermissions;

/// The launch-permission group that makes an image public.
pub const PUBLIC_GROUP: &str = "all";

/// One sharing entry, read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An account id, in `partition` or (when `None`) in every partition.
    Account(Option<String>, String),
    /// An organization ARN of a partition.
    Organization(String, String),
    /// An organizational unit ARN of a partition.
    OrganizationalUnit(String, String),
}

/// Reads one entry; the error says what it is not.
fn target(entry: &str) -> Result<Target, String> {
    if let Some(rest) = entry.strip_prefix("arn:") {
        // arn:<partition>:organizations::<account>:<resource>
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [partition, "organizations", "", account, resource] = parts[..] {
            let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
            let org = |id: &str| id.starts_with("o-") && id.len() > 2;
            let ou = |id: &str| id.starts_with("ou-") && id.len() > 3;
            match resource.split('/').collect::<Vec<_>>()[..] {
                ["organization", o] if account_ok && org(o) => {
                    return Ok(Target::Organization(partition.into(), entry.into()));
                }
                ["ou", o, u] if account_ok && org(o) && ou(u) => {
                    return Ok(Target::OrganizationalUnit(partition.into(), entry.into()));
                }
                _ => {}
            }
        }
        return Err(format!(
            "'{entry}' is not an organization (arn:<partition>:organizations::<account>:organization/o-…) or OU (…:ou/o-…/ou-…) ARN"
        ));
    }
    // digits only (AWS's ids have 12; the reference's own test data uses other lengths)
    let account_id =
        |account: &str| !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit());
    match entry.split_once(':') {
        Some((partition, account)) if PARTITIONS.contains(&partition) && account_id(account) => Ok(
            Target::Account(Some(partition.to_string()), account.to_string()),
        ),
        Some(_) => Err(format!(
            "'{entry}' is not <partition>:<account> (a partition of {}, an account id)",
            PARTITIONS.join(", ")
        )),
        None if entry.trim().is_empty() => Err("an empty entry is no account".into()),
        None if account_id(entry) => Ok(Target::Account(None, entry.to_string())),
        None => Err(format!("'{entry}' is not an AWS account id (digits)")),
    }
}

/// The partitions a `<partition>:<account>` entry may name.
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Checks one sharing entry's form (an account, `<partition>:<account>`, an organization or
/// OU ARN), as the credentials' `AWS_ACCOUNTS` and `AWS_SNAPSHOT_ACCOUNTS` are read.
pub fn check_entry(entry: &str) -> Result<(), String> {
    target(entry).map(|_| ())
}

/// The launch permissions `accounts` and `groups` grant in `partition`, each list sorted and
/// without repeats; `all` among the groups is left out (the release step makes an image
/// public, after RHSM knows it). An entry that is none of the forms is an error naming it.
pub fn launch_permissions(
    accounts: &[String],
    groups: &[String],
    partition: &str,
) -> Result<LaunchPermissions, String> {
    let mut out = LaunchPermissions::default();
    for entry in accounts {
        match target(entry)? {
            Target::Account(p, account) if p.as_deref().is_none_or(|p| p == partition) => {
                out.users.push(account);
            }
            Target::Organization(p, arn) if p == partition => out.organizations.push(arn),
            Target::OrganizationalUnit(p, arn) if p == partition => {
                out.organizational_units.push(arn);
            }
            _ => {}
        }
    }
    out.groups = groups
        .iter()
        .filter(|g| *g != PUBLIC_GROUP)
        .cloned()
        .collect();
    for list in [
        &mut out.users,
        &mut out.groups,
        &mut out.organizations,
        &mut out.organizational_units,
    ] {
        list.sort();
        list.dedup();
    }
    Ok(out)
}

/// The accounts `entries` share a snapshot with in `partition`, sorted and without repeats.
/// EC2 shares snapshots with accounts only: an organization or OU ARN is an error.
pub fn snapshot_accounts(entries: &[String], partition: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in entries {
        match target(entry)? {
            Target::Account(p, account) => {
                if p.as_deref().is_none_or(|p| p == partition) {
                    out.push(account);
                }
            }
            Target::Organization(..) | Target::OrganizationalUnit(..) => {
                return Err(format!(
                    "'{entry}': EC2 shares snapshots with accounts only, not with organizations or OUs"
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether `groups` (`AWS_GROUPS`) ask for the image to be public.
pub fn groups_make_public(groups: &[String]) -> bool {
    groups.iter().any(|g| g == PUBLIC_GROUP)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5";
    const OU: &str = "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56";
    const GOV_ORG: &str = "arn:aws-us-gov:organizations::123456789012:organization/o-gov1234567";

    fn strings(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn accounts_organizations_and_ous_are_kept_in_their_partition() {
        let accounts = strings(&[
            "111122223333",
            "aws-us-gov:444455556666",
            "aws:555566667777",
            "111122223333",
            ORG,
            OU,
            GOV_ORG,
        ]);
        let commercial = launch_permissions(&accounts, &strings(&["all"]), "aws").unwrap();
        assert_eq!(
            commercial,
            LaunchPermissions {
                users: strings(&["111122223333", "555566667777"]),
                groups: Vec::new(),
                organizations: strings(&[ORG]),
                organizational_units: strings(&[OU]),
            }
        );
        let gov = launch_permissions(&accounts, &[], "aws-us-gov").unwrap();
        assert_eq!(gov.users, ["111122223333", "444455556666"]);
        assert_eq!(gov.organizations, [GOV_ORG]);
        assert!(gov.organizational_units.is_empty());
        let china = launch_permissions(&accounts, &[], "aws-cn").unwrap();
        assert_eq!(china.users, ["111122223333"]);
        assert!(china.organizations.is_empty());
    }

    #[test]
    fn malformed_entries_are_named() {
        for (entry, expected) in [
            (
                "arn:aws:iam::123456789012:root",
                "'arn:aws:iam::123456789012:root' is not an organization",
            ),
            (
                "arn:aws:organizations::123:organization/o-abc",
                "is not an organization",
            ),
            (
                "arn:aws:organizations::123456789012:ou/o-abc",
                "is not an organization",
            ),
            ("aws:", "'aws:' is not <partition>:<account>"),
            ("aws-cn:111122223333:x", "is not <partition>:<account>"),
            ("mars:111122223333", "is not <partition>:<account>"),
            ("abc", "'abc' is not an AWS account id (digits)"),
            ("1234-5678", "is not an AWS account id"),
            ("", "an empty entry is no account"),
        ] {
            let err = launch_permissions(&strings(&[entry]), &[], "aws").unwrap_err();
            assert!(err.contains(expected), "{entry}: {err}");
        }
    }

    #[test]
    fn snapshots_are_shared_with_accounts_only() {
        assert_eq!(
            snapshot_accounts(
                &strings(&[
                    "222222222222",
                    "aws-cn:333333333333",
                    "aws:444444444444",
                    "222222222222"
                ]),
                "aws"
            )
            .unwrap(),
            ["222222222222", "444444444444"]
        );
        let err = snapshot_accounts(&strings(&[ORG]), "aws").unwrap_err();
        assert_eq!(
            err,
            format!(
                "'{ORG}': EC2 shares snapshots with accounts only, not with organizations or OUs"
            )
        );
    }

    #[test]
    fn the_all_group_means_public_and_is_left_to_the_release() {
        assert!(groups_make_public(&strings(&["all"])));
        assert!(!groups_make_public(&[]));
        let p = launch_permissions(&[], &strings(&["all", "other", "other"]), "aws").unwrap();
        assert_eq!(p.groups, ["other"]);
    }
}
