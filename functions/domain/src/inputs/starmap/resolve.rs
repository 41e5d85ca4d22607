//! How push items find their StArMap entity: from a local repo (`--repo`, `--repo-file`),
//! from the server, or local first then server (marketplacesvm `services/starmap.py`).
//!
//! Deliberate improvement over the reference: a lookup is answered per name + version +
//! workflow (and cloud). A local or already-fetched entity only answers for its own
//! workflow and cloud, and server answers are cached per name + version, so an entity
//! cached for another workflow or another version never hides the server's answer (the
//! reference caches by name alone and then reports "no mappings").

use std::collections::HashMap;

use serde_json::Value;

use crate::error::Result;
use crate::ports::StarmapServer;

use super::model::{Entity, Workflow, decode_entities};

/// A resolver that never asks a server (offline mode, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoServer;

impl StarmapServer for NoServer {
    async fn query(&self, _name: &str, _version: Option<&str>) -> Result<Option<Value>> {
        Ok(None)
    }
}

/// Where mappings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Local repo only; a miss means "no mappings".
    Offline,
    /// Local repo first, server on a miss.
    Hybrid,
    /// Server only.
    Online,
}

/// Resolves entities for push items, asking the server at most once per name + version.
#[derive(Debug)]
pub struct Resolver<S> {
    local: Vec<Entity>,
    server: Option<S>,
    fetched: HashMap<(String, Option<String>), Vec<Entity>>,
}

impl<S: StarmapServer> Resolver<S> {
    /// A resolver over a local repo and an optional server.
    pub fn new(local: Vec<Entity>, server: Option<S>) -> Self {
        Resolver {
            local,
            server,
            fetched: HashMap::new(),
        }
    }

    /// The mode this resolver works in.
    pub fn mode(&self) -> Mode {
        match (self.server.is_some(), self.local.is_empty()) {
            (false, _) => Mode::Offline,
            (true, false) => Mode::Hybrid,
            (true, true) => Mode::Online,
        }
    }

    /// The first entity for a build name, version, workflow and cloud, if any.
    pub async fn lookup(
        &mut self,
        name: &str,
        version: Option<&str>,
        workflow: Workflow,
        cloud: &str,
    ) -> Result<Option<Entity>> {
        let matches = |e: &&Entity| e.name == name && e.workflow == workflow && e.cloud == cloud;
        if let Some(hit) = self.local.iter().find(matches) {
            return Ok(Some(hit.clone()));
        }
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let version = version.filter(|v| !v.is_empty());
        let key = (name.to_string(), version.map(str::to_string));
        if !self.fetched.contains_key(&key) {
            let label = format!(
                "StArMap response for name={name} version={}",
                version.unwrap_or("")
            );
            let entities = match server.query(name, version).await? {
                Some(value) => decode_entities(&label, &value)?,
                None => Vec::new(),
            };
            self.fetched.insert(key.clone(), entities);
        }
        Ok(self.fetched[&key].iter().find(matches).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    /// A server answering from a fixed table and counting its queries.
    struct TableServer {
        answers: Vec<((&'static str, Option<&'static str>), Value)>,
        asked: Mutex<Vec<(String, Option<String>)>>,
    }

    impl StarmapServer for TableServer {
        async fn query(&self, name: &str, version: Option<&str>) -> Result<Option<Value>> {
            self.asked
                .lock()
                .unwrap()
                .push((name.to_string(), version.map(str::to_string)));
            Ok(self
                .answers
                .iter()
                .find(|((n, v), _)| *n == name && *v == version)
                .map(|(_, a)| a.clone()))
        }
    }

    fn entity(name: &str, workflow: &str, dest: &str) -> Value {
        json!({"name": name, "cloud": "aws", "workflow": workflow, "mappings": {
            "aws-na": {"destinations": [{"destination": dest, "overwrite": false, "restrict_version": false}]}}})
    }

    fn first_dest(e: &Entity) -> &str {
        &e.mappings[0].destinations[0].destination
    }

    #[tokio::test]
    async fn hybrid_local_entity_for_another_workflow_does_not_hide_the_server() {
        // GIVEN a local repo with only a marketplace entity, and a server with a community one
        let local = decode_entities(
            "repo",
            &json!([entity("rhel-ec2", "stratosphere", "local")]),
        )
        .unwrap();
        let server = TableServer {
            answers: vec![(
                ("rhel-ec2", Some("9.4")),
                json!([entity("rhel-ec2", "community", "us-east-1-hourly")]),
            )],
            asked: Mutex::new(vec![]),
        };
        let mut resolver = Resolver::new(local, Some(server));
        assert_eq!(resolver.mode(), Mode::Hybrid);
        // WHEN the community workflow looks the build up
        let hit = resolver
            .lookup("rhel-ec2", Some("9.4"), Workflow::Community, "aws")
            .await
            .unwrap();
        // THEN the server's answer is used, and the local one still answers its workflow
        assert_eq!(first_dest(&hit.unwrap()), "us-east-1-hourly");
        let local_hit = resolver
            .lookup("rhel-ec2", Some("9.4"), Workflow::Stratosphere, "aws")
            .await
            .unwrap();
        assert_eq!(first_dest(&local_hit.unwrap()), "local");
    }

    #[tokio::test]
    async fn server_answers_are_cached_per_name_and_version() {
        let server = TableServer {
            answers: vec![
                (
                    ("rhel-ec2", Some("9.4")),
                    json!([entity("rhel-ec2", "community", "a-hourly")]),
                ),
                (
                    ("rhel-ec2", Some("9.5")),
                    json!([entity("rhel-ec2", "community", "b-hourly")]),
                ),
            ],
            asked: Mutex::new(vec![]),
        };
        let mut resolver = Resolver::new(vec![], Some(server));
        assert_eq!(resolver.mode(), Mode::Online);
        for _ in 0..2 {
            let a = resolver
                .lookup("rhel-ec2", Some("9.4"), Workflow::Community, "aws")
                .await
                .unwrap();
            assert_eq!(first_dest(&a.unwrap()), "a-hourly");
        }
        let b = resolver
            .lookup("rhel-ec2", Some("9.5"), Workflow::Community, "aws")
            .await
            .unwrap();
        assert_eq!(first_dest(&b.unwrap()), "b-hourly");
        let missing = resolver
            .lookup("other", None, Workflow::Community, "aws")
            .await
            .unwrap();
        assert!(missing.is_none());
        let asked = resolver
            .server
            .as_ref()
            .unwrap()
            .asked
            .lock()
            .unwrap()
            .clone();
        assert_eq!(
            asked,
            [
                ("rhel-ec2".to_string(), Some("9.4".to_string())),
                ("rhel-ec2".to_string(), Some("9.5".to_string())),
                ("other".to_string(), None)
            ]
        );
    }

    #[tokio::test]
    async fn offline_miss_is_no_mapping() {
        let mut resolver: Resolver<NoServer> = Resolver::new(vec![], None);
        assert_eq!(resolver.mode(), Mode::Offline);
        assert!(
            resolver
                .lookup("x", Some("1"), Workflow::Community, "aws")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn local_match_needs_the_cloud_too() {
        let local =
            decode_entities("repo", &json!([entity("rhel", "community", "x-hourly")])).unwrap();
        let mut resolver: Resolver<NoServer> = Resolver::new(local, None);
        assert!(
            resolver
                .lookup("rhel", None, Workflow::Community, "azure")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            resolver
                .lookup("rhel", None, Workflow::Community, "aws")
                .await
                .unwrap()
                .is_some()
        );
    }
}
