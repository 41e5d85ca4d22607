//! The RHSM pre-check (spec §3.5.5): before anything is uploaded, every destination that
//! updates RHSM must find its image group (product) for its provider.

use crate::plan::Plan;
use crate::steps::StepError;

/// Fails, naming every missing product, when a destination's RHSM product is not in RHSM.
pub fn precheck(plan: &Plan, groups: &[(String, String)]) -> Result<(), StepError> {
    let mut missing: Vec<String> = Vec::new();
    for item in &plan.items {
        for d in &item.destinations {
            let (Some(product), Some(provider)) = (&d.rhsm_product, &d.rhsm_provider) else {
                continue;
            };
            if !groups.iter().any(|(n, p)| n == product && p == provider) {
                let line = format!(
                    "Product not in RHSM: {product} (provider {provider}) for {} at {}",
                    item.source, d.destination
                );
                if !missing.contains(&line) {
                    missing.push(line);
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StepError::invalid(format!(
            "Pre-push verification of push items in metadata service failed: {}",
            missing.join("; ")
        )))
    }
}
