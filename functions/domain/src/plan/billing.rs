//! Billing codes of community images from StArMap's `billing-code-config`
//! (marketplacesvm `_set_push_item_billing_code`).

use crate::error::{Error, Result};
use crate::inputs::item::BillingCodes;
use crate::inputs::starmap::{BillingRule, BillingType};

/// The billing codes for an image file and billing type: every rule whose `image_name` is a
/// prefix of the file name and whose `image_types` holds the type contributes its codes; the
/// name is the first matching rule's, else the type's default. `file` names the mapping.
pub fn billing_codes(
    file: &str,
    rules: &[BillingRule],
    image_file: &str,
    billing_type: &str,
    destination: &str,
) -> Result<BillingCodes> {
    if rules.is_empty() {
        return Err(Error::invalid(
            file,
            "billing-code-config",
            format!("No billing code configuration provided for {image_file} on {destination}."),
        ));
    }
    let btype = BillingType::parse(billing_type);
    let mut codes = Vec::new();
    let mut name = None;
    for rule in rules {
        let matches = image_file.starts_with(&rule.image_name)
            && btype.is_some_and(|t| rule.image_types.contains(&t));
        if matches {
            codes.extend(rule.codes.iter().cloned());
            if name.is_none() {
                name = Some(match &rule.name {
                    Some(n) => n.clone(),
                    None => btype.map_or("", BillingType::default_name).to_string(),
                });
            }
        }
    }
    match name.filter(|n| !n.is_empty()) {
        Some(name) => Ok(BillingCodes { name, codes }),
        None => Err(Error::invalid(
            file,
            "billing-code-config",
            format!(
                "Could not apply a billing code for {image_file} (type {billing_type}) on {destination}: no rule's image_name is a prefix of the file name with image_types holding {billing_type}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::starmap::decode_entities;
    use serde_json::json;

    fn rules() -> Vec<BillingRule> {
        let e = json!([{"name": "x", "cloud": "aws", "workflow": "community", "mappings": {},
        "billing-code-config": {
            "sample_base-access": {"codes": ["code-one"], "image_name": "sample_base", "image_types": ["access"], "name": "Access2"},
            "sample_base-ha": {"codes": ["code-three"], "image_name": "sample_base-ha", "image_types": ["hourly"]},
            "sample_base-hourly": {"codes": ["code-two"], "image_name": "sample_base", "image_types": ["hourly"], "name": "Hourly2"}
        }}]);
        decode_entities("repo", &e)
            .unwrap()
            .remove(0)
            .billing_code_config
    }

    #[test]
    fn all_matching_rules_contribute_codes_first_name_wins() {
        // The HA rule matches first and has no name: the type's default is used.
        let bc = billing_codes(
            "m",
            &rules(),
            "sample_base-ha-9.raw",
            "hourly",
            "us-east-1-hourly",
        )
        .unwrap();
        assert_eq!(
            bc,
            BillingCodes {
                name: "Hourly2".into(),
                codes: vec!["code-three".into(), "code-two".into()]
            }
        );
        let bc = billing_codes("m", &rules(), "sample_base-9.raw", "hourly", "d").unwrap();
        assert_eq!(bc.codes, ["code-two"]);
        let bc = billing_codes("m", &rules(), "sample_base-9.raw", "access", "d").unwrap();
        assert_eq!(
            (bc.name.as_str(), bc.codes.as_slice()),
            ("Access2", &["code-one".to_string()][..])
        );
    }

    #[test]
    fn no_rule_or_no_config_is_an_error_naming_the_mapping() {
        let err = billing_codes(
            "StArMap x",
            &rules(),
            "other.raw",
            "hourly",
            "us-east-1-hourly",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("StArMap x: billing-code-config: Could not apply a billing code for other.raw (type hourly) on us-east-1-hourly"), "{err}");
        let err =
            billing_codes("StArMap x", &[], "a.raw", "access", "us-east-1-access").unwrap_err();
        assert_eq!(
            err.to_string(),
            "StArMap x: billing-code-config: No billing code configuration provided for a.raw on us-east-1-access."
        );
    }
}
