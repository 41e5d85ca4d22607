//! A push request: the document a release engineer writes last into a drop
//! (`drops/<push-id>/push.yaml`) or sends to the API, validated before anything starts, and
//! the deterministic execution name that makes a duplicate event attach to the running push.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::inputs::starmap::decode_entities;
use crate::plan::PlanWorkflow;
use crate::steps::StepError;

/// The StArMap server used when neither the request nor the deployment names one.
pub const DEFAULT_STARMAP_URL: &str = "https://starmap.engineering.redhat.com";

/// Where mappings come from (`--offline`, `--repo`, `--starmap-url` of pubtools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StarmapMode {
    /// Server only.
    #[default]
    Online,
    /// The request's `repo` only.
    Offline,
    /// `repo` first, then the server.
    Hybrid,
}

/// StArMap settings of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StarmapSettings {
    /// Mode.
    #[serde(default)]
    pub mode: StarmapMode,
    /// Server URL (default: the deployment's, see [`StarmapSettings::server_url`]).
    #[serde(default)]
    pub url: Option<String>,
    /// Local mappings: a StArMap APIv2 query response.
    #[serde(default)]
    pub repo: Option<Vec<Value>>,
}

/// The StArMap servers a deployment asks: its default (the template's `StarmapUrl`, else
/// [`DEFAULT_STARMAP_URL`]) and the others a request may name (`StarmapAllowedUrls`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StarmapServers {
    /// The server of requests that name none (`None`: Red Hat's).
    pub default: Option<String>,
    /// Other servers a request may name.
    pub allowed: Vec<String>,
}

impl StarmapServers {
    /// From the deployment's settings: the default URL and a comma-separated list of others
    /// (empty entries ignored).
    pub fn new(default: Option<&str>, allowed: Option<&str>) -> Self {
        StarmapServers {
            default: default.filter(|u| !u.trim().is_empty()).map(str::to_string),
            allowed: allowed
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    fn default_url(&self) -> &str {
        self.default.as_deref().unwrap_or(DEFAULT_STARMAP_URL)
    }

    /// Whether a request may have `url` fetched (trailing slashes aside).
    fn allows(&self, url: &str) -> bool {
        let url = url.trim_end_matches('/');
        std::iter::once(self.default_url())
            .chain(self.allowed.iter().map(String::as_str))
            .any(|known| known.trim_end_matches('/') == url)
    }
}

impl StarmapSettings {
    /// The server to ask: none offline; else the request's URL, which must be one of the
    /// deployment's servers (a push request never makes the pipeline fetch an arbitrary URL),
    /// or the deployment's default.
    pub fn server_url<'a>(
        &'a self,
        servers: &'a StarmapServers,
    ) -> Result<Option<&'a str>, StepError> {
        if self.mode == StarmapMode::Offline {
            return Ok(None);
        }
        match self.url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) if servers.allows(url) => Ok(Some(url)),
            Some(url) => Err(StepError::invalid(format!(
                "starmap.url: '{url}' is not a StArMap server of this deployment (its StarmapUrl or StarmapAllowedUrls)"
            ))),
            None => Ok(Some(servers.default_url())),
        }
    }
}

/// Notification settings of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// SNS topic to notify instead of the deployment's.
    #[serde(default)]
    pub topic_arn: Option<String>,
    /// Also send one message per failed destination.
    #[serde(default)]
    pub per_destination_failures: bool,
}

/// A push request as written (`push.yaml`) or sent (API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Push id; from the drop's path, or derived from the request's content.
    #[serde(default)]
    pub push_id: Option<String>,
    /// Staged sources: `staged:s3://<bucket>/<prefix>` or `staged:<prefix>` in the staging bucket.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Workflow.
    #[serde(default = "community")]
    pub workflow: PlanWorkflow,
    /// Upload, import and share internally only (no RHSM, nothing public, Marketplace VALIDATE).
    #[serde(default)]
    pub pre_push: bool,
    /// Release type `beta`.
    #[serde(default)]
    pub beta: bool,
    /// Azure: publish to offers even while they have other changes in draft
    /// (`--azure-allow-draft-push`, `AZURE_ALLOW_DRAFT_PUSH=true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub azure_allow_draft_push: bool,
    /// StArMap settings.
    #[serde(default)]
    pub starmap: StarmapSettings,
    /// Upload bucket prefix (default `redhat-cloudimg`).
    #[serde(default)]
    pub container_prefix: Option<String>,
    /// Notification settings.
    #[serde(default)]
    pub notify: Option<NotifySettings>,
}

fn community() -> PlanWorkflow {
    PlanWorkflow::Community
}

/// One staged source in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedSource {
    /// Bucket.
    pub bucket: String,
    /// Key prefix of the staged tree, without a trailing `/`.
    pub prefix: String,
}

/// A validated push: what the state machine receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// Push id.
    pub push_id: String,
    /// The execution's name: `<push-id>-<8 hex of the request's sha256>`.
    pub execution_name: String,
    /// Staged sources.
    pub sources: Vec<StagedSource>,
    /// The request, with defaults filled.
    pub request: PushRequest,
}

/// Whether a push id is acceptable: 1–64 characters of `[A-Za-z0-9._-]`, starting with an
/// alphanumeric, without `..` (it becomes part of execution names and S3 keys).
pub fn valid_push_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.contains("..")
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex(&Sha256::digest(bytes))
}

/// Parses a `push.yaml` (YAML or JSON) named `file` in errors.
pub fn parse_request(file: &str, bytes: &[u8]) -> Result<PushRequest, StepError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| StepError::invalid(format!("{file}: not UTF-8 text")))?;
    if text.trim().is_empty() {
        return Ok(serde_json::from_str("{}").expect("an empty request parses"));
    }
    serde_yaml_ng::from_str(text).map_err(|e| {
        StepError::invalid(format!(
            "{file}: {}",
            crate::error::one_line(&e.to_string())
        ))
    })
}

/// Parses one `staged:` source; relative prefixes are in `staging_bucket`.
fn parse_source(
    source: &str,
    index: usize,
    staging_bucket: Option<&str>,
) -> Result<StagedSource, StepError> {
    let field = format!("sources[{index}]");
    let rest = source.strip_prefix("staged:").ok_or_else(|| {
        StepError::invalid(format!("{field}: '{source}' is not a staged: source"))
    })?;
    let (bucket, prefix) = match rest.strip_prefix("s3://") {
        Some(path) => match path.split_once('/') {
            Some((bucket, prefix)) => (bucket.to_string(), prefix),
            None => (path.to_string(), ""),
        },
        None => match staging_bucket {
            Some(bucket) => (bucket.to_string(), rest),
            None => {
                return Err(StepError::invalid(format!(
                    "{field}: '{source}' has no bucket (use staged:s3://<bucket>/<prefix>)"
                )));
            }
        },
    };
    let prefix = prefix.trim_end_matches('/');
    if bucket.is_empty()
        || prefix.starts_with('/')
        || prefix.split('/').any(|c| c == ".." || c == ".")
    {
        return Err(StepError::invalid(format!(
            "{field}: '{source}' must name a bucket and a relative prefix without '..'"
        )));
    }
    Ok(StagedSource {
        bucket,
        prefix: prefix.to_string(),
    })
}

impl PushRequest {
    /// The push of a drop, `s3://<bucket>/drops/<push_id>/push.yaml` holding this request: the
    /// push id is the folder's, the sources default to the drop itself. What start-push starts
    /// for the drop, and so the execution `vmpush push` follows.
    pub fn into_drop_push(
        mut self,
        bucket: &str,
        push_id: &str,
        staging_bucket: Option<&str>,
    ) -> Result<Push, StepError> {
        match &self.push_id {
            Some(id) if id != push_id => {
                return Err(StepError::invalid(format!(
                    "push_id: '{id}' differs from the drop's '{push_id}'"
                )));
            }
            _ => self.push_id = Some(push_id.to_string()),
        }
        if self.sources.is_empty() {
            self.sources = vec![format!("staged:s3://{bucket}/drops/{push_id}")];
        }
        self.validate(staging_bucket)
    }

    /// Validates the request and names its execution. `staging_bucket` resolves relative
    /// sources.
    pub fn validate(mut self, staging_bucket: Option<&str>) -> Result<Push, StepError> {
        if self.sources.is_empty() {
            return Err(StepError::invalid(
                "sources: at least one staged: source is required",
            ));
        }
        let sources = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| parse_source(s, i, staging_bucket))
            .collect::<Result<Vec<_>, _>>()?;
        // Hash the normalised form: the same push written differently is the same push.
        self.sources = sources
            .iter()
            .map(|s| format!("staged:s3://{}/{}", s.bucket, s.prefix))
            .collect();
        let starmap = &self.starmap;
        match (
            starmap.mode,
            starmap.repo.as_ref().is_some_and(|r| !r.is_empty()),
        ) {
            (StarmapMode::Offline | StarmapMode::Hybrid, false) => {
                return Err(StepError::invalid(
                    "starmap.repo: the offline and hybrid modes need local mappings",
                ));
            }
            (StarmapMode::Online, true) => {
                return Err(StepError::invalid(
                    "starmap.repo: local mappings need mode hybrid or offline",
                ));
            }
            _ => {}
        }
        if let Some(repo) = &starmap.repo {
            decode_entities("starmap.repo", &Value::Array(repo.clone()))?;
        }
        if let Some(prefix) = &self.container_prefix
            && (prefix.is_empty()
                || !prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(StepError::invalid(format!(
                "container_prefix: '{prefix}' is not a valid bucket name prefix"
            )));
        }
        let push_id = match self.push_id.clone() {
            Some(id) if valid_push_id(&id) => id,
            Some(id) => {
                return Err(StepError::invalid(format!(
                    "push_id: '{id}' must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit"
                )));
            }
            None => format!(
                "push-{}",
                &sha256_hex(serde_json::to_string(&self).expect("serialises").as_bytes())[..12]
            ),
        };
        self.push_id = Some(push_id.clone());
        let digest = sha256_hex(serde_json::to_string(&self).expect("serialises").as_bytes());
        Ok(Push {
            execution_name: format!("{push_id}-{}", &digest[..8]),
            push_id,
            sources,
            request: self,
        })
    }
}

/// The execution of a drop whose `push.yaml` is invalid: it goes straight to the result
/// document and the notification (nothing is uploaded), so subscribers learn of the typed error
/// as of any other push's end. Named `<push-id>-<8 hex of the file's sha256>`, so a duplicate
/// event starts nothing.
pub fn rejection(push_id: &str, bytes: &[u8], error: &StepError) -> (String, Value) {
    let execution_name = format!("{push_id}-{}", &sha256_hex(bytes)[..8]);
    let input = serde_json::json!({
        "push_id": push_id, "execution_name": execution_name, "sources": [],
        "request": {"workflow": "community"},
        "failure": {"Error": error.kind.error_type(), "Cause": error.message},
    });
    (execution_name, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(yaml: &str) -> PushRequest {
        parse_request("push.yaml", yaml.as_bytes()).unwrap()
    }

    #[test]
    fn a_drop_is_the_push_of_its_folder() {
        let explicit =
            request("push_id: rhel-9-4\nsources: [\"staged:s3://drop/drops/rhel-9-4\"]\n")
                .validate(None)
                .unwrap();
        let dropped = request("workflow: community\n")
            .into_drop_push("drop", "rhel-9-4", None)
            .unwrap();
        assert_eq!(dropped.execution_name, explicit.execution_name);
        assert_eq!(dropped.sources, explicit.sources);
        let named = request("push_id: rhel-9-4\n")
            .into_drop_push("drop", "rhel-9-4", None)
            .unwrap();
        assert_eq!(named.execution_name, explicit.execution_name);
        assert_eq!(
            request("push_id: other\n")
                .into_drop_push("drop", "rhel-9-4", None)
                .unwrap_err()
                .message,
            "push_id: 'other' differs from the drop's 'rhel-9-4'"
        );
    }

    #[test]
    fn execution_names_are_deterministic_and_content_addressed() {
        let a = request("push_id: rhel-9-4\nsources: [\"staged:s3://drop/drops/rhel-9-4\"]\n")
            .validate(None)
            .unwrap();
        let b = request(
            "{\"sources\": [\"staged:s3://drop/drops/rhel-9-4/\"], \"push_id\": \"rhel-9-4\"}",
        )
        .validate(None)
        .unwrap();
        assert_eq!(
            a.execution_name, b.execution_name,
            "the same request, written differently"
        );
        assert!(
            a.execution_name.starts_with("rhel-9-4-")
                && a.execution_name.len() == "rhel-9-4-".len() + 8
        );
        assert_eq!(
            a.sources,
            [StagedSource {
                bucket: "drop".into(),
                prefix: "drops/rhel-9-4".into()
            }]
        );
        // the request names no server: the deployment's default is decided where it is asked
        assert_eq!(a.request.starmap.url, None);
        let beta = request(
            "push_id: rhel-9-4\nbeta: true\nsources: [\"staged:s3://drop/drops/rhel-9-4\"]\n",
        )
        .validate(None)
        .unwrap();
        assert_ne!(a.execution_name, beta.execution_name);
        // Without an id, the id itself comes from the content.
        let anon = request("sources: [\"staged:drops/x\"]")
            .validate(Some("staging"))
            .unwrap();
        let again = request("sources: [\"staged:drops/x\"]")
            .validate(Some("staging"))
            .unwrap();
        assert!(anon.push_id.starts_with("push-") && anon.push_id.len() == 17);
        assert_eq!(anon.execution_name, again.execution_name);
        assert_eq!(
            anon.sources[0],
            StagedSource {
                bucket: "staging".into(),
                prefix: "drops/x".into()
            }
        );
    }

    #[test]
    fn invalid_requests_name_the_field() {
        let cases = [
            (
                "sources: []",
                "sources: at least one staged: source is required",
            ),
            (
                "sources: [\"koji:x\"]",
                "sources[0]: 'koji:x' is not a staged: source",
            ),
            (
                "sources: [\"staged:s3://b/../etc\"]",
                "sources[0]: 'staged:s3://b/../etc' must name a bucket and a relative prefix without '..'",
            ),
            (
                "sources: [\"staged:drops/x\"]",
                "sources[0]: 'staged:drops/x' has no bucket (use staged:s3://<bucket>/<prefix>)",
            ),
            (
                "push_id: \"a b\"\nsources: [\"staged:s3://b/p\"]",
                "push_id: 'a b' must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit",
            ),
            (
                "sources: [\"staged:s3://b/p\"]\nstarmap: {mode: offline}",
                "starmap.repo: the offline and hybrid modes need local mappings",
            ),
            (
                "sources: [\"staged:s3://b/p\"]\nstarmap: {repo: [{name: x}]}",
                "starmap.repo: local mappings need mode hybrid or offline",
            ),
            (
                "sources: [\"staged:s3://b/p\"]\nstarmap: {mode: hybrid, repo: [{name: x}]}",
                "starmap.repo: [0].workflow: required string is missing",
            ),
            (
                "sources: [\"staged:s3://b/p\"]\ncontainer_prefix: Bad_Prefix",
                "container_prefix: 'Bad_Prefix' is not a valid bucket name prefix",
            ),
        ];
        for (yaml, expected) in cases {
            let err = request(yaml).validate(None).unwrap_err();
            assert_eq!(
                (err.kind, err.message.as_str()),
                (crate::steps::ErrorKind::InvalidInput, expected),
                "{yaml}"
            );
        }
        let err = parse_request("push.yaml", b"workflow: every\nsources: []").unwrap_err();
        assert!(
            err.message
                .starts_with("push.yaml: workflow: unknown variant `every`, expected one of `community`, `marketplace`, `all`"),
            "{}",
            err.message
        );
        // a key with a newline (found by the property tests) stays on the error's one line
        let err = parse_request("push.yaml", b"{\"a\\nb\": 1}").unwrap_err();
        assert!(
            err.message.starts_with("push.yaml: unknown field `a\\nb`"),
            "{}",
            err.message
        );
        let err = parse_request("push.yaml", b"sauces: []").unwrap_err();
        assert!(
            err.message.starts_with("push.yaml: unknown field `sauces`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_server_is_the_deployments_unless_the_request_names_one_it_allows() {
        let settings = |yaml: &str| request(yaml).validate(None).unwrap().request.starmap;
        let online = settings("sources: [\"staged:s3://b/p\"]");
        let none = StarmapServers::new(None, Some(""));
        let own = StarmapServers::new(Some("https://starmap.example"), Some("https://other/, "));
        assert_eq!(online.server_url(&none), Ok(Some(DEFAULT_STARMAP_URL)));
        assert_eq!(online.server_url(&own), Ok(Some("https://starmap.example")));
        let named = |url: &str| StarmapSettings {
            url: Some(url.into()),
            ..online.clone()
        };
        assert_eq!(
            named("https://other").server_url(&own),
            Ok(Some("https://other"))
        );
        assert_eq!(
            named("https://starmap.example/").server_url(&own),
            Ok(Some("https://starmap.example/"))
        );
        assert_eq!(
            named(DEFAULT_STARMAP_URL).server_url(&none),
            Ok(Some(DEFAULT_STARMAP_URL))
        );
        let err = named("http://169.254.169.254/latest")
            .server_url(&own)
            .unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (
                crate::steps::ErrorKind::InvalidInput,
                "starmap.url: 'http://169.254.169.254/latest' is not a StArMap server of this deployment (its StarmapUrl or StarmapAllowedUrls)"
            )
        );
        let offline = StarmapSettings {
            mode: StarmapMode::Offline,
            ..named("http://anything")
        };
        assert_eq!(offline.server_url(&own), Ok(None));
    }
}
