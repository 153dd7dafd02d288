//! What a run boots: a root image (the default), or the program's own bytes
//! in the launch record (`OXV_ROOT_IMAGE=0`: no file tree but /dev, /proc,
//! /sys and /tmp).
//!
//! [`prepare`] decides. PROGRAM that is an oxv image (by its magic) boots
//! that image with the run settings stored in it. A plain program boots as
//! a root image unless `OXV_ROOT_IMAGE=0` (or [`RunConfig::root_image`])
//! says otherwise, and always with `--add`: the image holds the program at
//! `/<file name>` plus the `--add` trees and comes from the content-keyed
//! cache ([`crate::image::cached_image`]), so a second run builds nothing.
//!
//! How the image reaches the guest ([`placement`]): images up to
//! [`INLINE_MAX`] (and at most 1/16 of guest RAM, since an in-memory image
//! occupies guest RAM) ride in the launch record's program area; larger ones
//! are attached as a read-only virtio block device.

use std::os::unix::ffi::OsStrExt;

use oxv_rofs::FileType;

use crate::config::{MemSize, RunConfig};
use crate::error::Error;
use crate::image::{self, ImageFile, ImageInputs, ProgramInput};
use crate::{launch, program};

/// Largest image passed in memory by default (bytes); see `docs/rofs.md`
/// for the measurement. `OXV_ROOT_IMAGE_INLINE_MAX` overrides it.
pub const INLINE_MAX: u64 = 4 << 20;

/// A root image ready to boot.
#[derive(Debug)]
pub struct ImageRoot {
    /// The image file (kept until the VM is gone).
    pub file: ImageFile,
    /// Its length.
    pub len: u64,
    /// Guest path of the program.
    pub exec: Vec<u8>,
    /// argv, argv[0] included.
    pub argv: Vec<Vec<u8>>,
    /// Environment stored in the image (before `--env`).
    pub env: Vec<(String, String)>,
    /// Working directory stored in the image (before `--cwd`).
    pub cwd: Option<String>,
    /// Whether the image was built for this run (a cache miss).
    pub built: bool,
}

/// What boots.
#[derive(Debug)]
pub enum Root {
    /// The program's ELF bytes in the launch record, no root image.
    Program(Vec<u8>),
    /// A root image.
    Image(ImageRoot),
}

/// Where the image goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// In the launch record's program area.
    Memory,
    /// The first virtio block device.
    BlockDevice,
}

/// Whether a plain program boots in a root image: yes unless
/// `OXV_ROOT_IMAGE=0`.
pub fn root_image_requested() -> bool {
    std::env::var("OXV_ROOT_IMAGE").map_or(true, |v| v != "0")
}

/// The in-memory limit for a VM with `mem` of RAM.
pub fn inline_limit(mem: MemSize) -> u64 {
    if let Some(n) = std::env::var("OXV_ROOT_IMAGE_INLINE_MAX")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return n;
    }
    INLINE_MAX.min(mem.0 / 16)
}

/// Where an image of `len` bytes goes in a VM with `mem` of RAM.
pub fn placement(len: u64, mem: MemSize) -> Placement {
    if len <= inline_limit(mem) {
        Placement::Memory
    } else {
        Placement::BlockDevice
    }
}

/// Decides what `cfg` boots, building or finding the image if one is needed.
pub fn prepare(cfg: &RunConfig) -> Result<Root, Error> {
    if image::is_image(&cfg.program) {
        return image_file(cfg);
    }
    let wants_image = cfg.root_image.unwrap_or_else(root_image_requested) || !cfg.adds.is_empty();
    let prog = program::load(&cfg.program)?;
    if !wants_image {
        return Ok(Root::Program(prog.bytes));
    }
    let exec = launch::exec_path(&cfg.program);
    let meta = std::fs::metadata(&cfg.program)
        .map(|m| oxv_rofs::Meta::from_host(&m).with_owner(0, 0))
        .unwrap_or_else(|_| oxv_rofs::Meta::new(0o755));
    let mut inputs = ImageInputs {
        program: Some(ProgramInput {
            host: cfg.program.clone(),
            guest: String::from_utf8_lossy(&exec).into_owned(),
            bytes: prog.bytes.into(),
            meta,
        }),
        adds: cfg.adds.clone(),
        mountpoints: cfg.tmpfs.iter().map(|(p, _)| p.clone()).collect(),
        ..Default::default()
    };
    inputs.validate()?;
    let (file, built) = image::cached_image(&inputs)?;
    let len = std::fs::metadata(file.path())
        .map_err(|e| Error::io(file.path().display().to_string(), e))?
        .len();
    let argv = std::iter::once(cfg.program.as_os_str().as_bytes().to_vec())
        .chain(cfg.args.iter().map(|a| a.as_bytes().to_vec()))
        .collect();
    Ok(Root::Image(ImageRoot {
        file,
        len,
        exec,
        argv,
        env: Vec::new(),
        cwd: None,
        built,
    }))
}

/// PROGRAM is an image: boot it with its stored run settings.
fn image_file(cfg: &RunConfig) -> Result<Root, Error> {
    let display = cfg.program_display();
    if let Some(a) = cfg.adds.first() {
        return Err(Error::Manifest(format!(
            "{}: cannot add to an existing image ({display}); build a new one with oxv build --add",
            a.origin
        )));
    }
    let r = image::open_image(&cfg.program)?;
    let info = image::read_run_info(&r, &display)?.ok_or_else(|| Error::BadProgram {
        path: display.clone(),
        reason: format!(
            "the image names no program ({} is missing; build it with a PROGRAM or --exec)",
            image::RUN_INFO_PATH
        ),
    })?;
    let not_there = |reason: &str| Error::BadProgram {
        path: display.clone(),
        reason: format!("{}: {reason}", info.exec),
    };
    match r.lookup_path(info.exec.as_bytes()) {
        Ok(Some(ino)) => match r.inode(ino).map(|i| i.kind) {
            Ok(FileType::Regular) | Ok(FileType::Symlink) => {}
            Ok(_) => return Err(not_there("not a regular file in the image")),
            Err(e) => return Err(not_there(&e.to_string())),
        },
        Ok(None) => return Err(not_there("not in the image")),
        Err(e) => return Err(not_there(&e.to_string())),
    }
    let args: Vec<Vec<u8>> = if cfg.args.is_empty() {
        info.args
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(String::into_bytes)
            .collect()
    } else {
        cfg.args.iter().map(|a| a.as_bytes().to_vec()).collect()
    };
    let exec = info.exec.clone().into_bytes();
    let len = r.superblock().image_len;
    Ok(Root::Image(ImageRoot {
        file: ImageFile::Path(cfg.program.clone()),
        len,
        argv: std::iter::once(exec.clone()).chain(args).collect(),
        exec,
        env: info.env.into_iter().collect(),
        cwd: info.cwd,
        built: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{build_image, RunInfo};
    use crate::program::tests_support::tiny_elf;

    #[test]
    fn placement_by_size_and_memory() {
        let mem = MemSize(64 << 20);
        assert_eq!(placement(1 << 20, mem), Placement::Memory);
        assert_eq!(placement(4 << 20, mem), Placement::Memory);
        assert_eq!(placement((4 << 20) + 1, mem), Placement::BlockDevice);
        // A small VM keeps at most 1/16 of its RAM for the image.
        assert_eq!(placement(1 << 20, MemSize(8 << 20)), Placement::BlockDevice);
        assert_eq!(placement(512 << 10, MemSize(8 << 20)), Placement::Memory);
    }

    #[test]
    fn plain_program_stays_plain_by_default() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("prog");
        std::fs::write(&p, tiny_elf(None)).unwrap();
        let mut cfg = RunConfig::new(&p);
        cfg.root_image = Some(false);
        assert!(matches!(prepare(&cfg).unwrap(), Root::Program(b) if b == tiny_elf(None)));
    }

    #[test]
    fn image_file_uses_its_run_settings() {
        let d = tempfile::tempdir().unwrap();
        let prog = d.path().join("prog");
        std::fs::write(&prog, tiny_elf(None)).unwrap();
        let mut inputs = ImageInputs {
            program: Some(ProgramInput::read(&prog, "/bin/app").unwrap()),
            run: Some(RunInfo {
                exec: "/bin/app".into(),
                args: Some(vec!["--default".into()]),
                cwd: Some("/srv".into()),
                env: [("K".to_owned(), "V".to_owned())].into(),
            }),
            ..Default::default()
        };
        inputs.validate().unwrap();
        let img = d.path().join("app.rofs");
        build_image(&inputs, &img, false).unwrap();
        let Root::Image(r) = prepare(&RunConfig::new(&img)).unwrap() else {
            panic!("not an image root")
        };
        assert_eq!(r.exec, b"/bin/app");
        assert_eq!(r.argv, vec![b"/bin/app".to_vec(), b"--default".to_vec()]);
        assert_eq!(r.env, vec![("K".to_owned(), "V".to_owned())]);
        assert_eq!(r.cwd.as_deref(), Some("/srv"));
        assert_eq!(r.len, std::fs::metadata(&img).unwrap().len());
        // Arguments on the command line replace the stored ones.
        let mut cfg = RunConfig::new(&img);
        cfg.args = vec!["x".into()];
        let Root::Image(r) = prepare(&cfg).unwrap() else {
            panic!()
        };
        assert_eq!(r.argv, vec![b"/bin/app".to_vec(), b"x".to_vec()]);
        // --add on an image is refused; an image without run settings too.
        cfg.adds = vec![image::parse_add("x:/x").unwrap()];
        assert_eq!(prepare(&cfg).unwrap_err().exit_code(), 2);
        let mut bare = ImageInputs::default();
        bare.validate().unwrap();
        let img2 = d.path().join("bare.rofs");
        build_image(&bare, &img2, false).unwrap();
        let e = prepare(&RunConfig::new(&img2)).unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert!(e.to_string().contains("names no program"), "{e}");
    }

    #[test]
    fn add_builds_a_cached_image_with_the_program() {
        let d = tempfile::tempdir().unwrap();
        let prog = d.path().join("prog");
        std::fs::write(&prog, tiny_elf(None)).unwrap();
        std::fs::write(d.path().join("data.txt"), b"data").unwrap();
        let mut cfg = RunConfig::new(&prog);
        cfg.args = vec!["a".into()];
        cfg.adds = vec![image::parse_add(&format!(
            "{}:/etc/data.txt",
            d.path().join("data.txt").display()
        ))
        .unwrap()];
        let Root::Image(r) = prepare(&cfg).unwrap() else {
            panic!()
        };
        assert_eq!(r.exec, b"/prog");
        assert_eq!(r.argv[1], b"a");
        let reader = image::open_image(r.file.path()).unwrap();
        assert!(reader.lookup_path(b"/prog").unwrap().is_some());
        assert!(reader.lookup_path(b"/etc/data.txt").unwrap().is_some());
        // A missing --add host path is refused up front, naming it.
        cfg.adds = vec![image::parse_add("/nonexistent/x:/x").unwrap()];
        let e = prepare(&cfg).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--add /nonexistent/x:/x"), "{e}");
    }
}

/// Host-side cost of passing an image in memory versus as a block device
/// (`cargo test --release -p oxv --lib measure_inline_cost -- --ignored --nocapture`).
#[cfg(test)]
mod measure {
    use super::*;
    use crate::launch::{self, Boot, HostInputs, Terminal};

    #[test]
    #[ignore]
    fn measure_inline_cost() {
        let d = tempfile::tempdir().unwrap();
        let cfg = RunConfig::new("/x");
        let host = HostInputs::now(Terminal::none()).unwrap();
        for mib in [0usize, 1, 2, 4, 8, 16, 32, 64] {
            let img = d.path().join("img");
            let data: Vec<u8> = (0..mib << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
            std::fs::write(&img, &data).unwrap();
            let mut best = f64::MAX;
            for _ in 0..7 {
                let t = std::time::Instant::now();
                let bytes = std::fs::read(&img).unwrap();
                let boot = Boot {
                    flags: launch::FLAG_ROOT_IMAGE,
                    exec_path: b"/x".to_vec(),
                    argv: vec![b"/x".to_vec()],
                    program: &bytes,
                    ..Default::default()
                };
                let rec = launch::build_boot(&cfg, &boot, &host).unwrap();
                let f = launch::write_temp(&rec).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                drop(f);
            }
            println!(
                "in memory, {mib:2} MiB image: {:.2} ms host-side",
                best * 1e3
            );
        }
    }
}
