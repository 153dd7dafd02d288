//! `oxv build --manifest FILE.toml`: what goes into an image, as TOML.
//!
//! ```toml
//! program = "build/server"        # host path of the program
//! exec = "/usr/bin/server"        # its guest path (default: "/" + file name)
//! args = ["--port", "8080"]       # default arguments (oxv run IMAGE ARGS replaces them)
//! cwd = "/srv"                    # working directory
//! dir = "rootfs"                  # a whole host directory as the image root
//!
//! [env]
//! GREETING = "hello"
//!
//! [[add]]                         # a file or a whole directory tree, repeatable
//! host = "site"
//! guest = "/srv/site"
//! ```
//!
//! Relative host paths are relative to the manifest's directory. Unknown
//! keys are refused. [`parse`] only reads the TOML; the checks that need
//! the file system (missing host files, duplicate guest paths) are
//! [`crate::image::ImageInputs::validate`], which names the offending entry
//! by the `origin` recorded here (`app.toml add[2]`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::image::AddSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    program: Option<String>,
    exec: Option<String>,
    args: Option<Vec<String>>,
    cwd: Option<String>,
    dir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    add: Vec<RawAdd>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdd {
    host: String,
    guest: String,
}

/// A parsed manifest (host paths resolved against its directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Host path of the program.
    pub program: Option<PathBuf>,
    /// Guest path of the program.
    pub exec: Option<String>,
    /// Default arguments (after argv[0]).
    pub args: Option<Vec<String>>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Host directory that becomes the image root.
    pub dir: Option<PathBuf>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Files and trees to add.
    pub adds: Vec<AddSpec>,
}

/// Parses manifest `text`; `name` is used in messages, relative paths are
/// resolved against `base`.
pub fn parse(text: &str, name: &str, base: &Path) -> Result<Manifest, Error> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        Error::Manifest(format!(
            "{name}: {}",
            e.to_string().trim_end().replace('\n', "\n  ")
        ))
    })?;
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    for k in raw.env.keys() {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(Error::Manifest(format!(
                "{name}: env: invalid variable name {k:?}"
            )));
        }
    }
    Ok(Manifest {
        program: raw.program.as_deref().map(resolve),
        exec: raw.exec,
        args: raw.args,
        cwd: raw.cwd,
        dir: raw.dir.as_deref().map(resolve),
        env: raw.env.into_iter().collect(),
        adds: raw
            .add
            .into_iter()
            .enumerate()
            .map(|(i, a)| AddSpec {
                host: resolve(&a.host),
                guest: a.guest,
                origin: format!("{name} add[{}]", i + 1),
            })
            .collect(),
    })
}

/// Reads and parses the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Manifest(format!("{}: {e}", path.display())))?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parse(&text, &path.display().to_string(), base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest() {
        let m = parse(
            r#"
program = "build/app"
exec = "/usr/bin/app"
args = ["-v", ""]
cwd = "/srv"
dir = "/abs/root"

[env]
B = "2"
A = "1=1"

[[add]]
host = "site"
guest = "/srv/site"

[[add]]
host = "/etc/hosts"
guest = "/etc/hosts"
"#,
            "app.toml",
            Path::new("/proj"),
        )
        .unwrap();
        assert_eq!(m.program, Some(PathBuf::from("/proj/build/app")));
        assert_eq!(m.exec.as_deref(), Some("/usr/bin/app"));
        assert_eq!(m.args, Some(vec!["-v".to_owned(), String::new()]));
        assert_eq!(m.cwd.as_deref(), Some("/srv"));
        assert_eq!(m.dir, Some(PathBuf::from("/abs/root")));
        assert_eq!(
            m.env,
            vec![("A".into(), "1=1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(m.adds.len(), 2);
        assert_eq!(m.adds[0].host, PathBuf::from("/proj/site"));
        assert_eq!(m.adds[0].guest, "/srv/site");
        assert_eq!(m.adds[0].origin, "app.toml add[1]");
        assert_eq!(m.adds[1].host, PathBuf::from("/etc/hosts"));
    }

    #[test]
    fn empty_manifest_is_fine() {
        assert_eq!(
            parse("", "m.toml", Path::new(".")).unwrap(),
            Manifest::default()
        );
    }

    #[test]
    fn bad_manifests_name_the_problem() {
        for (text, needle) in [
            ("programm = \"x\"", "programm"),
            ("program = 3", "program"),
            ("[[add]]\nhost = \"a\"", "guest"),
            ("[[add]]\nhost = \"a\"\nguest = \"/a\"\nmode = 1", "mode"),
            ("args = \"not a list\"", "args"),
            ("[env]\n\"\" = \"x\"", "invalid variable name"),
            ("program = ", "m.toml"),
        ] {
            let e = parse(text, "m.toml", Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains("m.toml"), "{text:?}: {e}");
        }
    }

    #[test]
    fn load_resolves_relative_to_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.toml");
        std::fs::write(&p, "program = \"bin/x\"").unwrap();
        let m = load(&p).unwrap();
        assert_eq!(m.program, Some(d.path().join("bin/x")));
        let e = load(&d.path().join("missing.toml")).unwrap_err();
        assert!(e.to_string().contains("missing.toml"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}
