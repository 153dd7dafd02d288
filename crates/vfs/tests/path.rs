//! Path resolution semantics (man 7 path_resolution): components, `.` and
//! `..`, symlinks, mounts, trailing slashes, length limits.

mod common;

use common::{same, World};
use oxv_vfs::node::FileType;
use oxv_vfs::{CreateTarget, Errno, LastKind};

fn setup() -> World {
    let w = World::new();
    w.mkdir("/a").unwrap();
    w.mkdir("/a/b").unwrap();
    w.mkdir("/a/b/c").unwrap();
    w.write("/a/file", b"hello").unwrap();
    w
}

#[test]
fn absolute_relative_dot_dotdot() {
    let w = setup();
    let b = w.get("/a/b").unwrap();
    let a = w.get("/a").unwrap();
    assert!(same(&w.get("/a/./b").unwrap(), &b));
    assert!(same(&w.get("//a///b//").unwrap(), &b));
    assert!(same(&w.get("/a/b/c/..").unwrap(), &b));
    assert!(same(&w.get("/a/b/c/../../b").unwrap(), &b));
    // `..` at the root stays at the root.
    assert!(same(&w.get("/..").unwrap(), &w.root));
    assert!(same(&w.get("/../../a/..").unwrap(), &w.root));
    // Relative to a start directory.
    let r = w.r();
    assert!(same(&r.resolve(&a, b"b", true).unwrap(), &b));
    assert!(same(&r.resolve(&b, b"..", true).unwrap(), &a));
    assert!(same(&r.resolve(&b, b"../../..", true).unwrap(), &w.root));
    assert!(same(&r.resolve(&b, b".", true).unwrap(), &b));
    assert!(same(&r.resolve(&b, b"/a", true).unwrap(), &a));
}

#[test]
fn enoent_and_empty() {
    let w = setup();
    assert_eq!(w.get("/nope").err(), Some(Errno::ENOENT));
    assert_eq!(w.get("/a/nope/x").err(), Some(Errno::ENOENT));
    assert_eq!(w.get("").err(), Some(Errno::ENOENT));
    assert_eq!(
        w.r().resolve_parent(&w.root, b"").err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn enotdir_in_middle_and_trailing_slash() {
    let w = setup();
    assert_eq!(w.get("/a/file/x").err(), Some(Errno::ENOTDIR));
    assert_eq!(w.get("/a/file/").err(), Some(Errno::ENOTDIR));
    assert_eq!(w.get("/a/file/.").err(), Some(Errno::ENOTDIR));
    assert_eq!(w.get("/a/file/..").err(), Some(Errno::ENOTDIR));
    assert_eq!(w.get("/a/file//").err(), Some(Errno::ENOTDIR));
    assert!(w.get("/a/file").is_ok());
    assert!(w.get("/a/b/").is_ok());
    assert!(w.get("/a/b//").is_ok());
    // Relative to a non-directory start.
    let f = w.get("/a/file").unwrap();
    assert_eq!(w.r().resolve(&f, b"x", true).err(), Some(Errno::ENOTDIR));
}

#[test]
fn name_and_path_length_limits() {
    let w = World::new();
    let ok = "n".repeat(255);
    let long = "n".repeat(256);
    // A 255-byte name is fine (just missing); 256 is too long.
    assert_eq!(w.get(&format!("/{ok}")).err(), Some(Errno::ENOENT));
    assert_eq!(w.get(&format!("/{long}")).err(), Some(Errno::ENAMETOOLONG));
    assert_eq!(
        w.mkdir(&format!("/{long}")).err(),
        Some(Errno::ENAMETOOLONG)
    );
    assert!(w.mkdir(&format!("/{ok}")).is_ok());
    // Paths: 4095 bytes are accepted, 4096 are not.
    let slashes = "/".repeat(4095);
    assert!(same(&w.get(&slashes).unwrap(), &w.root));
    let too_long = "/".repeat(4096);
    assert_eq!(w.get(&too_long).err(), Some(Errno::ENAMETOOLONG));
    let mut deep = String::from("/");
    while deep.len() < 4094 {
        deep.push_str("./");
    }
    assert_eq!(deep.len(), 4095);
    assert!(w.get(&deep).is_ok());
    deep.push('.');
    assert_eq!(w.get(&deep).err(), Some(Errno::ENAMETOOLONG));
    // Symlink targets have the same limit.
    let target = "x".repeat(4096);
    assert_eq!(w.symlink(&target, "/l").err(), Some(Errno::ENAMETOOLONG));
    assert!(w.symlink(&"x".repeat(4095), "/l").is_ok());
}

#[test]
fn symlinks_relative_absolute_chains() {
    let w = setup();
    let b = w.get("/a/b").unwrap();
    w.symlink("b", "/a/rel").unwrap(); // relative to /a
    w.symlink("/a/b", "/abs").unwrap();
    w.symlink("../../b/c/..", "/a/b/c/up").unwrap();
    w.symlink("/abs", "/chain1").unwrap();
    w.symlink("chain1", "/chain2").unwrap();
    assert!(same(&w.get("/a/rel").unwrap(), &b));
    assert!(same(&w.get("/abs").unwrap(), &b));
    assert!(same(&w.get("/abs/c/..").unwrap(), &b));
    assert!(same(
        &w.get("/chain2/c").unwrap(),
        &w.get("/a/b/c").unwrap()
    ));
    // `..` inside a target is relative to the link's directory (/a/b/c).
    assert!(same(&w.get("/a/b/c/up").unwrap(), &w.get("/a/b").unwrap()));
    // Not following the last component returns the link itself.
    let l = w.lget("/abs").unwrap();
    assert_eq!(l.file_type(), FileType::Symlink);
    assert_eq!(w.r().readlink(&w.root, b"/abs").unwrap(), b"/a/b");
    // A trailing slash forces following even without follow_last.
    assert!(same(&w.lget("/abs/").unwrap(), &b));
    // A link in the middle is always followed.
    assert!(same(&w.lget("/abs/c").unwrap(), &w.get("/a/b/c").unwrap()));
    // A link to a file with a trailing slash: ENOTDIR.
    w.symlink("/a/file", "/lf").unwrap();
    assert_eq!(w.get("/lf").unwrap().file_type(), FileType::Regular);
    assert_eq!(w.get("/lf/").err(), Some(Errno::ENOTDIR));
    assert_eq!(w.lget("/lf/").err(), Some(Errno::ENOTDIR));
    // Dangling.
    w.symlink("/nowhere", "/dangling").unwrap();
    assert_eq!(w.get("/dangling").err(), Some(Errno::ENOENT));
    assert!(w.lget("/dangling").is_ok());
    // A link to the root.
    w.symlink("/", "/toroot").unwrap();
    assert!(same(&w.get("/toroot").unwrap(), &w.root));
    assert!(same(&w.get("/toroot/a/b").unwrap(), &b));
}

#[test]
fn symlink_loops_and_the_40_limit() {
    let w = World::new();
    w.symlink("self", "/self").unwrap();
    assert_eq!(w.get("/self").err(), Some(Errno::ELOOP));
    assert!(w.lget("/self").is_ok());
    assert_eq!(w.get("/self/x").err(), Some(Errno::ELOOP));
    w.symlink("/pong", "/ping").unwrap();
    w.symlink("/ping", "/pong").unwrap();
    assert_eq!(w.get("/ping").err(), Some(Errno::ELOOP));
    // A chain of exactly 40 links resolves; 41 does not.
    w.mkdir("/end").unwrap();
    w.symlink("/end", "/l0").unwrap();
    for i in 1..=40 {
        w.symlink(&format!("/l{}", i - 1), &format!("/l{i}"))
            .unwrap();
    }
    // /l39 needs 40 expansions, /l40 needs 41.
    assert!(same(&w.get("/l39").unwrap(), &w.get("/end").unwrap()));
    assert_eq!(w.get("/l40").err(), Some(Errno::ELOOP));
    // Links used in the middle count too.
    assert_eq!(w.get("/l40/x").err(), Some(Errno::ELOOP));
    assert_eq!(w.get("/l39/x").err(), Some(Errno::ENOENT));
}

#[test]
fn dotdot_across_mounts() {
    let w = setup();
    w.mkdir("/mnt").unwrap();
    let underlying = w.get("/mnt").unwrap();
    let m = w.mount_ramfs("/mnt");
    let mroot = m.root();
    assert!(same(&w.get("/mnt").unwrap(), &mroot));
    m.root().mkdir(b"sub", 0o755, 0, 0).unwrap();
    let sub = w.get("/mnt/sub").unwrap();
    assert_eq!(sub.fs_id(), m.fs_id());
    // `..` at the mounted root reaches the mountpoint's parent.
    assert!(same(&w.get("/mnt/..").unwrap(), &w.root));
    assert!(same(&w.get("/mnt/sub/../..").unwrap(), &w.root));
    assert!(same(
        &w.get("/mnt/sub/../../a").unwrap(),
        &w.get("/a").unwrap()
    ));
    // Relative from a cwd inside the mount.
    let r = w.r();
    assert!(same(
        &r.resolve(&sub, b"../../a/b", true).unwrap(),
        &w.get("/a/b").unwrap()
    ));
    assert!(same(&r.resolve(&mroot, b"..", true).unwrap(), &w.root));
    // Mount deeper: /a/b/c, then `..` from there is /a/b.
    let deep = w.mount_ramfs("/a/b/c");
    assert!(same(
        &r.resolve(&deep.root(), b"..", true).unwrap(),
        &w.get("/a/b").unwrap()
    ));
    // The shadowed directory is still reachable through its inode, and `..`
    // crossing back down lands on the mounted root.
    assert_eq!(underlying.fs_id(), w.fs.fs_id());
    assert!(same(
        &r.resolve(&underlying, b"../mnt", true).unwrap(),
        &mroot
    ));
    // A symlink inside the mount pointing up and out.
    m.root().symlink(b"out", b"../a", 0, 0).unwrap();
    assert!(same(&w.get("/mnt/out").unwrap(), &w.get("/a").unwrap()));
}

#[test]
fn stacked_mounts_and_umount() {
    let w = World::new();
    w.mkdir("/mnt").unwrap();
    let first = w.mount_ramfs("/mnt");
    let second = w.mount_ramfs("/mnt");
    assert!(same(&w.get("/mnt").unwrap(), &second.root()));
    // `..` from the top mount goes through both to /.
    assert!(same(&w.get("/mnt/..").unwrap(), &w.root));
    // The lower one cannot be unmounted while the upper sits on it.
    assert_eq!(w.mounts.umount(&*first.root()).err(), Some(Errno::EBUSY));
    w.mounts.umount(&*second.root()).unwrap();
    assert!(same(&w.get("/mnt").unwrap(), &first.root()));
    w.mounts.umount(&*first.root()).unwrap();
    assert_eq!(w.get("/mnt").unwrap().fs_id(), w.fs.fs_id());
    // Not a mounted root / the root mount.
    assert_eq!(
        w.mounts.umount(&*w.get("/mnt").unwrap()).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(w.mounts.umount(&*w.root).err(), Some(Errno::EBUSY));
    // One mount per file-system instance; mountpoints must be directories.
    w.mkdir("/x").unwrap();
    w.write("/f", b"").unwrap();
    let fs = common::ramfs();
    let x = w.get("/x").unwrap();
    w.mounts
        .mount(&x, "/x", fs.root(), "t", "tmpfs", "", false)
        .unwrap();
    assert_eq!(
        w.mounts
            .mount(
                &w.get("/").unwrap(),
                "/",
                fs.root(),
                "t",
                "tmpfs",
                "",
                false
            )
            .err(),
        Some(Errno::EBUSY)
    );
    let f = w.get("/f").unwrap();
    let other = common::ramfs();
    assert_eq!(
        w.mounts
            .mount(&f, "/f", other.root(), "t", "tmpfs", "", false)
            .err(),
        Some(Errno::ENOTDIR)
    );
}

#[test]
fn proc_mounts_listing() {
    let w = World::new();
    w.mkdir("/tmp dir").unwrap();
    let fs = common::ramfs();
    let mp = w.get("/tmp dir").unwrap();
    w.mounts
        .mount(
            &mp,
            "/tmp dir",
            fs.root(),
            "tmpfs",
            "tmpfs",
            "size=64k",
            true,
        )
        .unwrap();
    assert_eq!(
        w.mounts.proc_mounts(),
        "rootfs / tmpfs rw 0 0\ntmpfs /tmp\\040dir tmpfs ro,size=64k 0 0\n"
    );
    let list = w.mounts.list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].parent_id, 1);
    assert_eq!(list[1].fs_id, fs.fs_id());
    assert!(w.mounts.is_read_only(fs.fs_id()));
    w.mounts.set_read_only(fs.fs_id(), false).unwrap();
    assert!(!w.mounts.is_read_only(fs.fs_id()));
}

#[test]
fn chroot_root_is_sticky() {
    let w = setup();
    w.symlink("/c", "/a/b/abs").unwrap();
    let jail = w.get("/a/b").unwrap();
    let r = oxv_vfs::Resolver::new(&w.mounts, &jail);
    assert!(same(&r.resolve(&jail, b"/..", true).unwrap(), &jail));
    assert!(same(&r.resolve(&jail, b"../../..", true).unwrap(), &jail));
    // Absolute symlinks resolve inside the jail.
    assert!(same(
        &r.resolve(&jail, b"abs", true).unwrap(),
        &w.get("/a/b/c").unwrap()
    ));
}

#[test]
fn resolve_parent_kinds() {
    let w = setup();
    let r = w.r();
    let p = r.resolve_parent(&w.root, b"/").unwrap();
    assert_eq!(p.kind, LastKind::Root);
    assert!(same(&p.dir, &w.root));
    let p = r.resolve_parent(&w.root, b"/a/b/.").unwrap();
    assert_eq!(p.kind, LastKind::Dot);
    assert!(same(&p.dir, &w.get("/a/b").unwrap()));
    let p = r.resolve_parent(&w.root, b"/a/b/..").unwrap();
    assert_eq!(p.kind, LastKind::DotDot);
    let p = r.resolve_parent(&w.root, b"/a/b/new/").unwrap();
    assert_eq!(
        (p.kind, p.name.as_slice(), p.trailing_slash),
        (LastKind::Normal, &b"new"[..], true)
    );
    let p = r.resolve_parent(&w.root, b"a//b").unwrap();
    assert_eq!((p.name.as_slice(), p.trailing_slash), (&b"b"[..], false));
    assert!(same(&p.dir, &w.get("/a").unwrap()));
    // The last component is not looked up or followed; the middle is.
    w.symlink("/a/b", "/lb").unwrap();
    let p = r.resolve_parent(&w.root, b"/lb/zzz").unwrap();
    assert!(same(&p.dir, &w.get("/a/b").unwrap()));
    let p = r.resolve_parent(&w.root, b"/lb").unwrap();
    assert!(same(&p.dir, &w.root));
    assert_eq!(p.name, b"lb");
    assert_eq!(
        r.resolve_parent(&w.root, b"/nope/x").err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        r.resolve_parent(&w.root, b"/a/file/x").err(),
        Some(Errno::ENOTDIR)
    );
}

#[test]
fn resolve_create_targets() {
    let w = setup();
    let r = w.r();
    match r.resolve_create(&w.root, b"/a/new", true).unwrap() {
        CreateTarget::Absent { dir, name } => {
            assert!(same(&dir, &w.get("/a").unwrap()));
            assert_eq!(name, b"new");
        }
        other => panic!("{other:?}"),
    }
    // A dangling symlink leads to its target's location when followed.
    w.symlink("b/made", "/a/dl").unwrap();
    match r.resolve_create(&w.root, b"/a/dl", true).unwrap() {
        CreateTarget::Absent { dir, name } => {
            assert!(same(&dir, &w.get("/a/b").unwrap()));
            assert_eq!(name, b"made");
        }
        other => panic!("{other:?}"),
    }
    // Not followed: the link itself exists.
    assert!(matches!(
        r.resolve_create(&w.root, b"/a/dl", false).unwrap(),
        CreateTarget::Exists(l) if l.file_type() == FileType::Symlink
    ));
    assert_eq!(
        r.resolve_create(&w.root, b"/a/new/", true).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        r.resolve_create(&w.root, b"/a/nope/new", true).err(),
        Some(Errno::ENOENT)
    );
    assert!(matches!(
        r.resolve_create(&w.root, b"/a/..", true).unwrap(),
        CreateTarget::Exists(d) if same(&d, &w.root)
    ));
}
