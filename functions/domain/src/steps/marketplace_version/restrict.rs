//! Which versions `restrict_version` restricts: cloudpub's version tree (`create_version_tree`
//! and `get_restricted_{major,minor,patch}_versions`), rule for rule and in its order.
//!
//! Versions whose title's first word is a PEP 440 version are grouped by major and minor (a
//! version only counts when its first delivery option is `Public`, though its major and minor
//! count even when none does); with `restrict_major`, every version of the majors beyond the
//! newest `restrict_major` is restricted; with `restrict_minor`, every version of each major's
//! minors beyond its newest `restrict_minor`; and always, in each minor, every version but
//! the newest by creation date.

use crate::ports::ProductVersion;

/// What a restriction takes away: the first delivery option of each version, and its AMIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// Delivery option ids, in cloudpub's order.
    pub delivery_options: Vec<String>,
    /// The AMIs of the restricted versions.
    pub amis: Vec<String>,
}

impl Restriction {
    fn take(&mut self, version: &ProductVersion) {
        if let Some(option) = version.delivery_options.first() {
            self.delivery_options.push(option.id.clone());
        }
        self.amis.extend(version.amis.iter().cloned());
    }
}

/// The major and minor numbers of a PEP 440 version (`packaging.version.Version`): optional
/// `v`, epoch `N!`, release `N(.N)*`, pre, post and dev segments and a `+local` label; `None`
/// when `text` is none.
pub fn pep440_major_minor(text: &str) -> Option<(u64, u64)> {
    let lower = text.trim().to_ascii_lowercase();
    let mut s = lower.strip_prefix('v').unwrap_or(&lower);
    if let Some((epoch, rest)) = s.split_once('!') {
        if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s = rest;
    }
    let (public, local) = match s.split_once('+') {
        Some((p, l)) => (p, Some(l)),
        None => (s, None),
    };
    if let Some(local) = local {
        let parts_ok = local
            .split(['-', '_', '.'])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !parts_ok {
            return None;
        }
    }
    let release_end = public
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || (c == '.' && public[i + 1..].starts_with(|n: char| n.is_ascii_digit())))
        })
        .map_or(public.len(), |(i, _)| i);
    let release = &public[..release_end];
    let numbers: Vec<u64> = release
        .split('.')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    if !suffix_ok(&public[release_end..]) {
        return None;
    }
    Some((numbers[0], numbers.get(1).copied().unwrap_or(0)))
}

/// Whether what follows a release is PEP 440's `[pre][post][dev]`.
fn suffix_ok(s: &str) -> bool {
    fn sep(s: &str) -> &str {
        s.strip_prefix(['-', '_', '.']).unwrap_or(s)
    }
    fn digits(s: &str) -> &str {
        &s[s.bytes().take_while(u8::is_ascii_digit).count()..]
    }
    /// An optional number after an optional separator.
    fn number(s: &str) -> &str {
        let t = sep(s);
        let rest = digits(t);
        if rest.len() < t.len() { rest } else { s }
    }
    let mut s = s;
    let t = sep(s);
    let pre = ["preview", "alpha", "beta", "pre", "rc", "a", "b", "c"];
    if let Some(label) = pre.into_iter().find(|l| t.starts_with(l)) {
        s = number(&t[label.len()..]);
    }
    match s
        .strip_prefix('-')
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    {
        Some(rest) => s = digits(rest),
        None => {
            let t = sep(s);
            if let Some(label) = ["post", "rev", "r"].into_iter().find(|l| t.starts_with(l)) {
                s = number(&t[label.len()..]);
            }
        }
    }
    if let Some(rest) = sep(s).strip_prefix("dev") {
        s = number(rest);
    }
    s.is_empty()
}

/// A map that keeps its keys in insertion order, as Python's dicts do.
type Ordered<K, V> = Vec<(K, V)>;

fn entry<K: PartialEq, V: Default>(map: &mut Ordered<K, V>, key: K) -> &mut V {
    let index = match map.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            map.push((key, V::default()));
            map.len() - 1
        }
    };
    &mut map[index].1
}

/// The versions `restrict_version` restricts, with `restrict_major` and `restrict_minor` as
/// the destination gives them (`None` or `0`: no such rule).
pub fn restrictions(
    versions: &[ProductVersion],
    restrict_major: Option<i64>,
    restrict_minor: Option<i64>,
) -> Restriction {
    // by title, later versions of a title replacing earlier ones (a dict keyed by title)
    let mut by_title: Ordered<&str, &ProductVersion> = Vec::new();
    for v in versions {
        match by_title.iter_mut().find(|(t, _)| *t == v.title) {
            Some(slot) => slot.1 = v,
            None => by_title.push((v.title.as_str(), v)),
        }
    }
    let mut tree: Ordered<u64, Ordered<u64, Vec<&ProductVersion>>> = Vec::new();
    for (title, version) in by_title {
        let Some((major, minor)) = pep440_major_minor(title.split(' ').next().unwrap_or("")) else {
            continue;
        };
        let minors = entry(&mut tree, major);
        let public = version
            .delivery_options
            .first()
            .is_some_and(|o| o.visibility == "Public");
        let list = entry(minors, minor);
        if public {
            list.push(version);
        }
    }
    let mut out = Restriction::default();
    if let Some(keep) = restrict_major.filter(|&n| n > 0).map(|n| n as usize) {
        if tree.len() > keep {
            let mut majors: Vec<u64> = tree.iter().map(|(m, _)| *m).collect();
            majors.sort_unstable_by(|a, b| b.cmp(a));
            for major in &majors[keep..] {
                let index = tree.iter().position(|(m, _)| m == major).expect("a major");
                let (_, minors) = tree.remove(index);
                for (_, list) in &minors {
                    list.iter().for_each(|v| out.take(v));
                }
            }
        }
    }
    if let Some(keep) = restrict_minor.filter(|&n| n > 0).map(|n| n as usize) {
        for (_, minors) in tree.iter_mut() {
            let mut numbers: Vec<u64> = minors.iter().map(|(m, _)| *m).collect();
            numbers.sort_unstable_by(|a, b| b.cmp(a));
            for minor in numbers.iter().skip(keep) {
                let index = minors
                    .iter()
                    .position(|(m, _)| m == minor)
                    .expect("a minor");
                let (_, list) = minors.remove(index);
                list.iter().for_each(|v| out.take(v));
            }
        }
    }
    for (_, minors) in &tree {
        for (_, list) in minors {
            let mut newest_first = list.clone();
            // a stable sort, newest first; a version without a date counts as the oldest
            newest_first.sort_by(|a, b| b.created.cmp(&a.created));
            newest_first.iter().skip(1).for_each(|v| out.take(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::DeliveryOption;

    fn version(title: &str, created: &str, visibility: &str, n: usize) -> ProductVersion {
        ProductVersion {
            id: format!("version-{n}"),
            title: title.into(),
            created: Some(created.into()),
            delivery_options: vec![DeliveryOption {
                id: format!("do-{n}"),
                visibility: visibility.into(),
            }],
            amis: vec![format!("ami-{n:017}")],
        }
    }

    #[test]
    fn pep440_versions_and_others() {
        for (text, want) in [
            ("9.4", Some((9, 4))),
            ("9", Some((9, 0))),
            ("v8.10.1", Some((8, 10))),
            ("1!2.3", Some((2, 3))),
            ("9.4rc1", Some((9, 4))),
            ("9.4.post2", Some((9, 4))),
            ("9.4-1", Some((9, 4))),
            ("9.4.dev3", Some((9, 4))),
            ("9.4a1.post1.dev1+local.7", Some((9, 4))),
            ("RHEL", None),
            ("9.4_beta", Some((9, 4))),
            ("9.x", None),
            ("", None),
            ("9..4", None),
            ("9.4+", None),
        ] {
            assert_eq!(pep440_major_minor(text), want, "{text}");
        }
    }

    #[test]
    fn keeps_the_newest_majors_minors_and_patch() {
        let versions = vec![
            version("7.9 20200101-1", "2020-01-01T00:00:00Z", "Public", 1),
            version("8.8 20230101-1", "2023-01-01T00:00:00Z", "Public", 2),
            version("8.10 20240101-1", "2024-01-01T00:00:00Z", "Public", 3),
            version("9.2 20230601-1", "2023-06-01T00:00:00Z", "Public", 4),
            version("9.4 20240501-1", "2024-05-01T00:00:00Z", "Public", 5),
            version("9.4 20240601-2", "2024-06-01T00:00:00Z", "Public", 6),
            version("9.3 20231101-1", "2023-11-01T00:00:00Z", "Restricted", 7),
            version("Beta release", "2024-07-01T00:00:00Z", "Public", 8),
        ];
        // two majors, one minor each: 7 goes, 8.8 and 9.2 go (9.3 counts as a minor with
        // nothing public), and 9.4's older patch
        let r = restrictions(&versions, Some(2), Some(1));
        assert_eq!(r.delivery_options, ["do-1", "do-2", "do-4", "do-5"]);
        assert_eq!(r.amis.len(), 4);
        // without rules, only older patches
        let r = restrictions(&versions, None, None);
        assert_eq!(r.delivery_options, ["do-5"]);
        // keeping two minors per major: 9.2 goes because 9.3 (nothing public) is kept
        let r = restrictions(&versions, Some(3), Some(2));
        assert_eq!(r.delivery_options, ["do-4", "do-5"]);
    }
}
