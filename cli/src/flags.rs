//! The flags of `pubtools-marketplacesvm-push` / `-community-push` (spec §3.2) that `vmpush
//! push` and `vmpush plan` take, so that their command lines work unchanged. Each applies, or
//! says on stderr in one line why it does not; none is silently ignored.

use std::path::PathBuf;

use vmpush_cloud::rhsm::{ClientTls, HttpRhsm};
use vmpush_domain::plan::Plan;
use vmpush_domain::ports::Rhsm;
use vmpush_domain::steps::resolve_mapping::precheck;

use crate::Failure;

/// pubtools' shared flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PubtoolsFlags {
    /// More output on stderr, repeatable: -d vmpush's debug lines, -dd also the AWS SDK's and
    /// the HTTP clients', -ddd everything (pubtools' levels). VMPUSH_LOG wins when set.
    #[arg(long, short = 'd', action = clap::ArgAction::Count)]
    pub debug: u8,

    /// pubtools' sub-steps to skip (comma-separated): accepted and without effect, as in
    /// pubtools-marketplacesvm, whose push steps cannot be skipped either.
    #[arg(long, value_delimiter = ',', value_name = "STEPS")]
    pub skip: Vec<String>,

    /// RHSM server. `plan` runs the reference's RHSM pre-check against it; a push uses its
    /// deployment's RHSM (template parameter RhsmUrl) and says so.
    #[arg(long, value_name = "URL")]
    pub rhsm_url: Option<String>,

    /// RHSM client certificate (PEM file), with --rhsm-key.
    #[arg(long, env = "RHSM_CERT", value_name = "FILE")]
    pub rhsm_cert: Option<PathBuf>,

    /// RHSM client key (PEM file), with --rhsm-cert.
    #[arg(long, env = "RHSM_KEY", value_name = "FILE")]
    pub rhsm_key: Option<PathBuf>,

    /// Azure: publish to an offer even while it has other changes in draft (also
    /// AZURE_ALLOW_DRAFT_PUSH=true).
    #[arg(long)]
    pub azure_allow_draft_push: bool,
}

/// The tracing filter of `-d` levels; `None` keeps the default.
pub fn log_filter(debug: u8) -> Option<&'static str> {
    match debug {
        0 => None,
        1 => Some("warn,vmpush=debug,vmpush_domain=debug,vmpush_cloud=debug,vmpush_local=debug"),
        2 => Some(
            "warn,vmpush=debug,vmpush_domain=debug,vmpush_cloud=debug,vmpush_local=debug,\
             aws_config=debug,aws_runtime=debug,aws_smithy_runtime=debug,reqwest=debug,hyper_util=debug",
        ),
        _ => Some("debug"),
    }
}

impl PubtoolsFlags {
    /// `--azure-allow-draft-push` or pubtools' `AZURE_ALLOW_DRAFT_PUSH=true`.
    pub fn azure_draft(&self) -> bool {
        self.azure_allow_draft_push
            || std::env::var("AZURE_ALLOW_DRAFT_PUSH").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The lines a push prints for flags it takes but cannot apply.
    pub fn push_notes(&self) -> Vec<String> {
        let mut notes = self.common_notes();
        if let Some(url) = &self.rhsm_url {
            notes.push(format!(
                "--rhsm-url {url}: not applied: a push updates its deployment's RHSM (template parameter RhsmUrl)"
            ));
        }
        if self.rhsm_cert.is_some() || self.rhsm_key.is_some() {
            notes.push(
                "--rhsm-cert/--rhsm-key (RHSM_CERT/RHSM_KEY): not applied: a push presents its deployment's RHSM certificate (template parameter RhsmCertificateSecretArn)".into(),
            );
        }
        notes
    }

    /// The lines common to push and plan.
    fn common_notes(&self) -> Vec<String> {
        if self.skip.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "--skip {}: accepted without effect: no step of a push can be skipped (pubtools-marketplacesvm ignores --skip too)",
            self.skip.join(",")
        )]
    }

    /// What `vmpush plan` does with the flags: the RHSM pre-check when `--rhsm-url` is given
    /// (every destination that updates RHSM must find its image group, as a push's
    /// resolve-mapping checks), lines for the rest. A failed pre-check is the plan's error.
    pub async fn apply_to_plan(&self, plan: &Plan) -> Result<Vec<String>, Failure> {
        let mut notes = self.common_notes();
        if self.azure_draft() {
            notes.push(
                "--azure-allow-draft-push: applies to publishing only; the plan is the same without it".into(),
            );
        }
        let Some(url) = &self.rhsm_url else {
            if self.rhsm_cert.is_some() || self.rhsm_key.is_some() {
                notes.push(
                    "--rhsm-cert/--rhsm-key (RHSM_CERT/RHSM_KEY): not applied: no --rhsm-url to check the plan against".into(),
                );
            }
            return Ok(notes);
        };
        let checked = plan
            .items
            .iter()
            .flat_map(|i| &i.destinations)
            .filter(|d| d.rhsm_product.is_some())
            .count();
        if checked == 0 {
            notes.push(format!(
                "--rhsm-url {url}: no destination of this plan updates RHSM; nothing to check"
            ));
            return Ok(notes);
        }
        let tls = ClientTls::from_files(self.rhsm_cert.as_deref(), self.rhsm_key.as_deref())?;
        let rhsm = HttpRhsm::new(url, &tls)?;
        precheck(plan, &rhsm.image_groups().await?)?;
        notes.push(format!(
            "RHSM pre-check at {url}: the image groups of all {checked} RHSM destination(s) exist"
        ));
        Ok(notes)
    }
}
