//! Checks over an integration's `manifest.json` (rules with `target = "manifest"`).

use std::sync::LazyLock;

use regex::Regex;

use crate::model::integration::{Manifest, Requirement};

/// A named check over a manifest: which requirements it reports.
pub struct ManifestCheck {
    pub name: &'static str,
    pub doc: &'static str,
    pub eval: fn(&Manifest) -> Vec<&Requirement>,
}

/// Every manifest check a rule may list.
pub static MANIFEST_CHECKS: &[ManifestCheck] = &[ManifestCheck {
    name: "unpinned-requirement",
    doc: "a `requirements` entry not pinned with `==` (or `===`), or a URL/VCS requirement \
          without a commit hash",
    eval: unpinned_requirements,
}];

/// Finds a manifest check by name.
pub fn find(name: &str) -> Option<&'static ManifestCheck> {
    MANIFEST_CHECKS.iter().find(|check| check.name == name)
}

static COMMIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@[0-9a-fA-F]{7,40}(#|$)").expect("valid regex"));

/// Is a requirement string pinned to one exact version or commit?
pub fn is_pinned(requirement: &str) -> bool {
    // Environment markers (`; python_version < "3.12"`) do not change pinning.
    let spec = requirement.split(';').next().unwrap_or("").trim();
    let url = spec
        .split_once(" @ ")
        .map(|(_, url)| url.trim())
        .or_else(|| spec.contains("://").then_some(spec));
    if let Some(url) = url {
        // git+https://host/repo.git@<sha>#egg=name
        let without_fragment = url.split('#').next().unwrap_or(url);
        return COMMIT.is_match(without_fragment);
    }
    let Some((_, version)) = spec.split_once("==") else {
        return false;
    };
    let version = version.trim_start_matches('=').trim();
    // `==1.*` and `==1.0,>=0.9` admit more than one version.
    !version.is_empty() && !version.contains('*') && !version.contains(',')
}

fn unpinned_requirements(manifest: &Manifest) -> Vec<&Requirement> {
    manifest
        .requirements
        .iter()
        .filter(|r| !is_pinned(&r.text) && !pinned_by_home_assistant(&r.text))
        .collect()
}

/// Is the requirement a package Home Assistant pins itself (`aiohttp`,
/// `requests`)? Its package constraints hold whatever the manifest asks, so
/// the installed version is the one Home Assistant ships with.
fn pinned_by_home_assistant(requirement: &str) -> bool {
    static PINS: LazyLock<Vec<&str>> = LazyLock::new(|| {
        include_str!("home_assistant_pins.txt")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .collect()
    });
    let spec = requirement.split(';').next().unwrap_or("").trim();
    if spec.contains("://") || spec.contains(" @ ") {
        return false; // a URL installs what it names, constraints or not
    }
    let name: String = spec
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .map(|c| match c {
            '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    PINS.contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_home_assistant_pins_are_pinned_whatever_the_manifest_says() {
        let manifest = Manifest {
            requirements: [
                "aiohttp",
                "requests>=2.0",
                "PyYAML",
                "Jinja2~=3.0",
                "pyfoo>=1",
                "aiohttp @ git+https://github.com/o/aiohttp.git",
            ]
            .into_iter()
            .map(|text| Requirement {
                text: text.into(),
                offset: None,
                line: None,
            })
            .collect(),
            ..Manifest::default()
        };
        let unpinned: Vec<&str> = unpinned_requirements(&manifest)
            .into_iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(
            unpinned,
            ["pyfoo>=1", "aiohttp @ git+https://github.com/o/aiohttp.git"]
        );
    }

    #[test]
    fn pinned_and_unpinned_requirements() {
        for pinned in [
            "pyfoo==1.2.3",
            "py-foo[cli]==0.4",
            "pyfoo===1.0",
            "pyfoo==1.0; python_version<'3.13'",
            "pyfoo @ git+https://github.com/o/pyfoo.git@0123456789abcdef0123456789abcdef01234567",
            "git+https://github.com/o/pyfoo.git@abcdef1#pyfoo==1.0",
        ] {
            assert!(is_pinned(pinned), "{pinned}");
        }
        for unpinned in [
            "pyfoo",
            "pyfoo>=1.0",
            "pyfoo~=1.0",
            "pyfoo==1.*",
            "pyfoo==1.0,<2",
            "git+https://github.com/o/pyfoo.git",
            "git+https://github.com/o/pyfoo.git@main",
            "pyfoo @ https://github.com/o/pyfoo/archive/v1.0.zip",
        ] {
            assert!(!is_pinned(unpinned), "{unpinned}");
        }
    }
}
