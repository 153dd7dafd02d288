//! `oxv ls IMAGE [PATH]`: lists a directory of an image (or one entry)
//! like `ls -l`: mode string, link count, uid, gid, size (`major, minor`
//! for devices), modification time (UTC, `YYYY-MM-DD HH:MM`), name, and
//! `-> target` for symlinks. Entries come in the image's (byte-sorted)
//! order; numeric columns are right-aligned.

use oxv_rofs::{FileType, InodeInfo, RofsReader, Storage};

use crate::error::Error;

/// One output line before alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `st_mode`.
    pub mode: u32,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size, or `major, minor` for device nodes.
    pub size: String,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Name (non-UTF-8 bytes shown as U+FFFD).
    pub name: String,
    /// Symlink target.
    pub target: Option<String>,
}

/// `drwxr-xr-x`-style mode string (set-id and sticky bits as `s`/`S`/`t`/`T`).
pub fn mode_string(mode: u32) -> String {
    let t = match FileType::from_mode(mode) {
        Some(FileType::Directory) => 'd',
        Some(FileType::Symlink) => 'l',
        Some(FileType::CharDevice) => 'c',
        Some(FileType::BlockDevice) => 'b',
        Some(FileType::Fifo) => 'p',
        Some(FileType::Socket) => 's',
        Some(FileType::Regular) => '-',
        None => '?',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for (shift, special, lower, upper) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => lower,
            (true, false) => upper,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Linux `dev_t` major and minor numbers.
pub fn dev_numbers(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

fn row<S: Storage>(r: &RofsReader<S>, info: &InodeInfo, name: &[u8]) -> Result<Row, String> {
    let size = match info.kind {
        FileType::CharDevice | FileType::BlockDevice => {
            let (ma, mi) = dev_numbers(info.rdev);
            format!("{ma}, {mi}")
        }
        _ => info.size.to_string(),
    };
    let target = if info.kind == FileType::Symlink {
        let t = r.read_link_vec(info.ino).map_err(|e| e.to_string())?;
        Some(String::from_utf8_lossy(&t).into_owned())
    } else {
        None
    };
    Ok(Row {
        mode: info.mode,
        nlink: info.nlink,
        uid: info.uid,
        gid: info.gid,
        size,
        mtime: info.mtime_sec,
        name: String::from_utf8_lossy(name).into_owned(),
        target,
    })
}

/// Aligns rows into `ls -l` lines.
pub fn format_rows(rows: &[Row]) -> String {
    let w = |f: &dyn Fn(&Row) -> String| rows.iter().map(|r| f(r).len()).max().unwrap_or(0);
    let (wn, wu, wg, ws) = (
        w(&|r| r.nlink.to_string()),
        w(&|r| r.uid.to_string()),
        w(&|r| r.gid.to_string()),
        w(&|r| r.size.clone()),
    );
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "{} {:>wn$} {:>wu$} {:>wg$} {:>ws$} {} {}",
            mode_string(r.mode),
            r.nlink,
            r.uid,
            r.gid,
            r.size,
            format_time(r.mtime),
            r.name
        ));
        if let Some(t) = &r.target {
            out.push_str(" -> ");
            out.push_str(t);
        }
        out.push('\n');
    }
    out
}

/// The listing of `path` in the image (a directory's entries, or the one
/// entry `path` names).
pub fn list<S: Storage>(r: &RofsReader<S>, image: &str, path: &str) -> Result<String, Error> {
    let bad = |e: String| Error::BadProgram {
        path: image.to_owned(),
        reason: format!("bad image: {e}"),
    };
    let ino = r
        .lookup_path(path.as_bytes())
        .map_err(|e| match e {
            oxv_rofs::RofsError::NotDirectory => {
                Error::Manifest(format!("{path}: not a directory"))
            }
            e => bad(e.to_string()),
        })?
        .ok_or_else(|| Error::NotFound {
            path: format!("{image}:{path}"),
        })?;
    let info = r.inode(ino).map_err(|e| bad(e.to_string()))?;
    let mut rows = Vec::new();
    if info.is_dir() {
        for e in r.read_dir(ino, 0).map_err(|e| bad(e.to_string()))? {
            let e = e.map_err(|e| bad(e.to_string()))?;
            let ci = r.inode(e.ino).map_err(|e| bad(e.to_string()))?;
            rows.push(row(r, &ci, e.name()).map_err(bad)?);
        }
    } else {
        rows.push(row(r, &info, path.as_bytes()).map_err(bad)?);
    }
    Ok(format_rows(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_rofs::{ImageBuilder, Meta};

    #[test]
    fn mode_strings() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o102644), "-rw-r-Sr--");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o041776), "drwxrwxrwT");
        assert_eq!(mode_string(0o020666), "crw-rw-rw-");
        assert_eq!(mode_string(0o060600), "brw-------");
        assert_eq!(mode_string(0o010644), "prw-r--r--");
        assert_eq!(mode_string(0o140755), "srwxr-xr-x");
        assert_eq!(mode_string(0o000644), "?rw-r--r--");
    }

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(format_time(-1), "1969-12-31 23:59");
        assert_eq!(format_time(4_102_444_800), "2100-01-01 00:00");
    }

    #[test]
    fn device_numbers() {
        assert_eq!(dev_numbers((1 << 8) | 3), (1, 3));
        assert_eq!(
            dev_numbers((259 << 8) | (0x12345 & 0xff) | ((0x12345 & !0xff) << 12)),
            (259, 0x12345)
        );
    }

    #[test]
    fn listing_like_ls_l() {
        let mut b = ImageBuilder::new();
        let m = |perm, t| Meta {
            perm,
            uid: 0,
            gid: 0,
            mtime_sec: t,
            mtime_nsec: 0,
        };
        b.add_dir("/etc", m(0o755, 1_700_000_000)).unwrap();
        b.add_file("/etc/hosts", m(0o644, 1_700_000_060), vec![b'x'; 1234])
            .unwrap();
        b.add_symlink("/etc/localtime", m(0o777, 0), "/usr/share/zoneinfo/UTC")
            .unwrap();
        b.add_special(
            "/etc/null",
            Meta {
                uid: 1000,
                ..m(0o666, 0)
            },
            FileType::CharDevice,
            (1 << 8) | 3,
        )
        .unwrap();
        b.add_hardlink("/etc/hosts2", "/etc/hosts").unwrap();
        let img = b.to_vec().unwrap();
        let r = RofsReader::open(&img[..]).unwrap();
        assert_eq!(
            list(&r, "img", "/etc").unwrap(),
            "\
-rw-r--r-- 2    0 0 1234 2023-11-14 22:14 hosts
-rw-r--r-- 2    0 0 1234 2023-11-14 22:14 hosts2
lrwxrwxrwx 1    0 0   23 1970-01-01 00:00 localtime -> /usr/share/zoneinfo/UTC
crw-rw-rw- 1 1000 0 1, 3 1970-01-01 00:00 null
"
        );
        assert_eq!(
            list(&r, "img", "/").unwrap(),
            "drwxr-xr-x 2 0 0 4 2023-11-14 22:13 etc\n"
        );
        assert_eq!(
            list(&r, "img", "/etc/hosts").unwrap(),
            "-rw-r--r-- 2 0 0 1234 2023-11-14 22:14 /etc/hosts\n"
        );
        let e = list(&r, "img", "/nope").unwrap_err();
        assert_eq!(e.exit_code(), 127);
        assert!(e.to_string().contains("img:/nope"), "{e}");
        let e = list(&r, "img", "/etc/hosts/x").unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
