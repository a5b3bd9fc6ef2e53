//! Files: what tenet reads and how it writes (docs/LIMITS.md, "Files: what tenet reads
//! and writes"). One source of truth for three things every command needs:
//!
//! - [`walk`]: the one directory walker. Every directory tenet searches (policies, test
//!   files, `.tenet` files to format, tenant snapshots) is walked with the same rules;
//!   callers say only which file names they want and which extra directories to skip.
//!   A symbolic link in a walked directory is followed only inside it.
//! - [`Tree::locate`]: whether a path leads inside a directory tree, decided without
//!   looking outside it (so no message tells what exists outside). The walker, the paths
//!   in test files and the snapshots `tenet test` reads and writes use it.
//! - [`regular_file`]: a path named explicitly must be a regular file (after following
//!   symbolic links), decided from its metadata before it is opened, so a FIFO or a device
//!   never blocks or floods a run.
//! - [`write_atomic`]: every file tenet writes goes to a temporary file in the same
//!   directory, then is renamed over the destination; a destination that is a symbolic
//!   link is refused.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Directories no walk enters (besides hidden ones): build output, dependencies and test
/// snapshots never hold policies, tests or tenants.
pub const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "__snapshots__"];

/// One result of a [`walk`], in sorted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file (or a symbolic link to one) with a wanted name.
    File { path: PathBuf, shown: String },
    /// A directory or a wanted entry that could not be read, at its place in the order.
    Error { shown: String, message: String },
}

/// A file to read: its path, and its name as shown in messages (the path, lossily
/// converted to UTF-8; the path itself is what is opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: PathBuf,
    pub shown: String,
}

/// The message for an unreadable path.
pub fn cannot_read(shown: &str, e: &io::Error) -> String {
    format!("cannot read `{shown}`: {e}")
}

/// The files under `root` whose name `wants` accepts, sorted by path (component by
/// component), as `shown_root` joined with their path below `root`.
///
/// The rules, the same for every caller:
/// - entries whose name starts with `.` are skipped (hidden files and directories, and the
///   temporary files of [`write_atomic`]);
/// - directories named in [`SKIPPED_DIRS`] or in `skip_dirs` are not entered;
/// - a symbolic link is followed, to a file or a directory, only when it leads inside
///   `root` (see [`Tree::locate`]); a link that leads outside is not followed and is an
///   [`Entry::Error`] at its place, whatever its name, without saying what it leads to
///   (tenet reads only what it is given). A directory already entered (by its canonical
///   path) is not entered again, so link cycles end;
/// - anything that is not a regular file or a directory after following links (FIFOs,
///   sockets, devices) is skipped without being opened;
/// - a directory that cannot be read, or a wanted entry whose metadata cannot be read
///   (a dangling link), is an [`Entry::Error`] at its place in the order.
pub fn walk(root: &Path, shown_root: &str, wants: &dyn Fn(&str) -> bool, skip_dirs: &[&str]) -> Vec<Entry> {
    let mut found: Vec<(PathBuf, Entry)> = Vec::new();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let tree = Tree::new(root);
    seen.insert(tree.canonical.clone());
    let shown_of = |rel: &Path| {
        if rel.as_os_str().is_empty() {
            shown_root.to_string()
        } else {
            Path::new(shown_root).join(rel).to_string_lossy().into_owned()
        }
    };
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                let shown = shown_of(&rel);
                found.push((rel, Entry::Error { message: cannot_read(&shown, &e), shown }));
                continue;
            }
        };
        // In name order, and subdirectories entered in that order (depth first), so which
        // of two ways into the same directory is taken does not depend on the file system.
        let mut listed = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => listed.push(e),
                Err(e) => {
                    let shown = shown_of(&rel);
                    found.push((rel.clone(), Entry::Error { message: cannot_read(&shown, &e), shown }));
                }
            }
        }
        listed.sort_by_key(fs::DirEntry::file_name);
        let mut subdirs = Vec::new();
        for entry in listed {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let rel_path = rel.join(entry.file_name());
            let path = root.join(&rel_path);
            // `DirEntry::file_type` usually costs no system call but does not follow a
            // symbolic link; `fs::metadata` does.
            let skipped = SKIPPED_DIRS.contains(&name.as_ref()) || skip_dirs.contains(&name.as_ref());
            let kind = match entry.file_type() {
                Ok(t) if t.is_symlink() => match tree.locate(&path) {
                    Located::Inside(target) => fs::metadata(&target).map(|m| (m.is_dir(), m.is_file())),
                    Located::Unreadable(e) => Err(e),
                    Located::Outside if skipped => continue,
                    Located::Outside => {
                        let shown = shown_of(&rel_path);
                        let message = outside_link(&shown, shown_root);
                        found.push((rel_path, Entry::Error { shown, message }));
                        continue;
                    }
                },
                Ok(t) => Ok((t.is_dir(), t.is_file())),
                Err(e) => Err(e),
            };
            let (is_dir, is_file) = match kind {
                Ok(k) => k,
                Err(e) => {
                    if wants(&name) {
                        let shown = shown_of(&rel_path);
                        found.push((rel_path, Entry::Error { message: cannot_read(&shown, &e), shown }));
                    }
                    continue;
                }
            };
            if is_dir {
                if skipped {
                    continue;
                }
                if fs::canonicalize(&path).map_or(true, |c| seen.insert(c)) {
                    subdirs.push(rel_path);
                }
            } else if is_file && wants(&name) {
                let shown = shown_of(&rel_path);
                found.push((rel_path, Entry::File { path, shown }));
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, e)| e).collect()
}

/// The message for a symbolic link met in a walk that leads outside the walked directory.
pub fn outside_link(shown: &str, shown_root: &str) -> String {
    format!(
        "`{shown}` is a symbolic link to a path outside `{shown_root}`; tenet reads only what it is given \
         — name the target directly to check it"
    )
}

/// At most this many symbolic links are followed to resolve one path (as Linux does).
const MAX_LINKS: usize = 40;

/// A directory tree that paths must stay inside: a walked directory, or the tree a test
/// file may read and write.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Canonical (absolute, symbolic links resolved), or only absolute when it does not
    /// exist.
    pub canonical: PathBuf,
    /// Absolute, as given (symbolic links not resolved).
    absolute: PathBuf,
}

/// Where a path leads, by [`Tree::locate`].
#[derive(Debug)]
pub enum Located {
    /// Inside the tree; the canonical path.
    Inside(PathBuf),
    /// Outside the tree. Nothing outside was looked at, so nothing tells whether the
    /// outside target exists.
    Outside,
    /// Inside the tree as far as it could be resolved, but it cannot be (a missing file
    /// inside the tree, a loop of links).
    Unreadable(io::Error),
}

impl Tree {
    pub fn new(root: &Path) -> Tree {
        let absolute = std::path::absolute(root).map_or_else(|_| root.to_path_buf(), |a| lexical(&a));
        let canonical = fs::canonicalize(root).unwrap_or_else(|_| absolute.clone());
        Tree { canonical, absolute }
    }

    fn related(&self, p: &Path) -> bool {
        [&self.canonical, &self.absolute].iter().any(|r| p.starts_with(r) || r.starts_with(p))
    }

    /// Resolves `path` (absolute, or relative to the current directory) component by
    /// component, following symbolic links as the system does, and says whether it leads
    /// inside the tree. Only paths inside the tree or on the way to it (its ancestors) are
    /// looked at: as soon as the resolution leaves, the answer is [`Located::Outside`],
    /// whether or not the outside target exists, so the answer never tells a test file
    /// (or a planted link) what exists outside.
    pub fn locate(&self, path: &Path) -> Located {
        use std::path::Component;
        let mut cur = if path.is_absolute() {
            PathBuf::new()
        } else {
            match std::env::current_dir().and_then(fs::canonicalize) {
                Ok(d) => d,
                Err(e) => return Located::Unreadable(e),
            }
        };
        // Components still to resolve, the next one last.
        let mut todo: Vec<std::ffi::OsString> = Vec::new();
        let push = |todo: &mut Vec<std::ffi::OsString>, p: &Path| {
            for c in p.components().rev() {
                todo.push(c.as_os_str().to_os_string());
            }
        };
        push(&mut todo, path);
        let mut links = 0usize;
        while let Some(c) = todo.pop() {
            let c = PathBuf::from(c);
            match c.components().next() {
                Some(Component::Prefix(_) | Component::RootDir) => cur = c,
                Some(Component::CurDir) | None => {}
                Some(Component::ParentDir) => {
                    cur.pop();
                }
                Some(Component::Normal(name)) => {
                    let next = cur.join(name);
                    if !self.related(&next) {
                        return Located::Outside;
                    }
                    match fs::symlink_metadata(&next) {
                        Ok(m) if m.file_type().is_symlink() => {
                            links += 1;
                            if links > MAX_LINKS {
                                return Located::Unreadable(io::Error::other("too many levels of symbolic links"));
                            }
                            match fs::read_link(&next) {
                                Ok(target) => push(&mut todo, &target),
                                Err(e) => return Located::Unreadable(e),
                            }
                        }
                        Ok(_) => cur = next,
                        Err(e) => return Located::Unreadable(e),
                    }
                }
            }
        }
        if cur.starts_with(&self.canonical) {
            Located::Inside(cur)
        } else {
            Located::Outside
        }
    }
}

/// `path` with `.` and `..` removed lexically.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// What a path named explicitly is, from its metadata (following symbolic links).
#[derive(Debug)]
pub enum Kind {
    File(fs::Metadata),
    Dir,
}

/// Checks that a path named explicitly is a regular file or a directory before anything
/// opens it. A FIFO, socket or device is an error (reading one could block forever or
/// never end), and so is a path that cannot be read.
pub fn kind(path: &Path, shown: &str) -> Result<Kind, String> {
    let meta = fs::metadata(path).map_err(|e| cannot_read(shown, &e))?;
    if meta.is_dir() {
        Ok(Kind::Dir)
    } else if meta.is_file() {
        Ok(Kind::File(meta))
    } else {
        Err(not_regular(shown))
    }
}

/// Like [`kind`], for a path that must be a file.
pub fn regular_file(path: &Path, shown: &str) -> Result<fs::Metadata, String> {
    match kind(path, shown)? {
        Kind::File(m) => Ok(m),
        Kind::Dir => Err(format!("`{shown}` is a directory, not a file")),
    }
}

fn not_regular(shown: &str) -> String {
    format!("`{shown}` is not a regular file (a FIFO, socket or device); tenet reads only regular files")
}

/// Opens a regular file for reading. The path is checked from its metadata first (so a
/// device is never opened), then opened without blocking (`O_NONBLOCK` on Unix, which
/// changes nothing for a regular file) and checked again through the open handle: a FIFO
/// swapped in between the check and the open is refused too, instead of blocking the run.
pub fn open_regular(path: &Path, shown: &str) -> Result<(fs::File, fs::Metadata), String> {
    regular_file(path, shown)?;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let f = options.open(path).map_err(|e| cannot_read(shown, &e))?;
    let meta = f.metadata().map_err(|e| cannot_read(shown, &e))?;
    if !meta.is_file() {
        return Err(not_regular(shown));
    }
    Ok((f, meta))
}

/// Reads a regular file of at most `limit` bytes (the check is made before opening).
pub fn read_file(path: &Path, shown: &str, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = regular_file(path, shown)?;
    let too_large = || format!("`{shown}` is larger than {} MiB", limit >> 20);
    if meta.len() > limit {
        return Err(too_large());
    }
    let (f, _) = open_regular(path, shown)?;
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes).map_err(|e| cannot_read(shown, &e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Policies, models and test files larger than this are not read (they are written by
/// people; a larger one is a mistake or an attack).
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory,
/// flushed to disk, then renamed over `path`. Readers see the old file or the new one,
/// never a truncated one, and a failed write leaves the old file as it was.
///
/// A destination that is a symbolic link is refused (nothing is written through a link,
/// and the link is not replaced), and so is one that is not a regular file. An existing
/// file keeps its permissions; a new one gets `0644` on Unix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A file written as a stream and put in place atomically by [`AtomicFile::commit`], by
/// the rules of [`write_atomic`]; dropped without a commit, it leaves nothing behind and
/// the old file as it was.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    perms: Option<fs::Permissions>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let perms = match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a symbolic link, and tenet does not write through links (replace the link with a file)",
                ))
            }
            Ok(m) if !m.is_file() => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
            }
            Ok(m) => Some(m.permissions()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new().prefix(".tenet-").suffix(".tmp").tempfile_in(dir)?;
        Ok(AtomicFile { tmp, path: path.to_path_buf(), perms })
    }

    /// Flushes the file to disk and renames it over the destination.
    pub fn commit(self) -> io::Result<()> {
        let AtomicFile { mut tmp, path, perms } = self;
        tmp.flush()?;
        tmp.as_file().sync_all()?;
        match perms {
            Some(p) => tmp.as_file().set_permissions(p)?,
            None => set_new_file_mode(tmp.as_file())?,
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(unix)]
fn set_new_file_mode(f: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_new_file_mode(_: &fs::File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory, removed with what the test wrote in it when the guard is dropped.
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new().prefix(&format!("tenet-fsio-{name}-")).tempdir().unwrap()
    }

    fn shown(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::File { shown, .. } => shown.clone(),
                Entry::Error { shown, .. } => format!("error {shown}"),
            })
            .collect()
    }

    #[test]
    fn walk_skips_hidden_build_and_special_entries_and_ends_link_cycles() {
        let tmp = scratch("walk");
        let d = tmp.path();
        for dir in ["a/b", ".git", "target", "node_modules", "__snapshots__", "fixtures"] {
            fs::create_dir_all(d.join(dir)).unwrap();
        }
        for f in ["z.json", "a/b/c.json", "a/x.txt", ".git/h.json", "target/t.json", "fixtures/f.json", ".h.json"] {
            fs::write(d.join(f), "{}").unwrap();
        }
        fs::write(d.join("__snapshots__/s.json"), "{}").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d, d.join("a/loop")).unwrap();
            std::os::unix::fs::symlink(d.join("z.json"), d.join("a/link.json")).unwrap();
            std::os::unix::fs::symlink(d.join("missing"), d.join("a/dangling.json")).unwrap();
            let fifo = d.join("a/fifo.json");
            assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        }
        let wants = |n: &str| n.ends_with(".json");
        let got = shown(&walk(d, "R", &wants, &["fixtures"]));
        #[cfg(unix)]
        assert_eq!(got, ["R/a/b/c.json", "error R/a/dangling.json", "R/a/link.json", "R/z.json"]);
        let got = shown(&walk(d, "R", &wants, &[]));
        assert!(got.contains(&"R/fixtures/f.json".to_string()), "{got:?}");
    }

    #[cfg(unix)]
    #[test]
    fn walks_follow_links_only_inside_the_walked_directory() {
        use std::os::unix::fs::symlink;
        let tmp = scratch("links");
        let d = tmp.path();
        fs::create_dir_all(d.join("out/dir")).unwrap();
        fs::create_dir_all(d.join("root/in")).unwrap();
        fs::write(d.join("out/secret.json"), "{}").unwrap();
        fs::write(d.join("out/dir/x.json"), "{}").unwrap();
        fs::write(d.join("root/in/a.json"), "{}").unwrap();
        let root = d.join("root");
        symlink(d.join("out/secret.json"), root.join("abs.json")).unwrap();
        symlink("../out/secret.json", root.join("rel.json")).unwrap();
        symlink(d.join("out/missing.json"), root.join("gone.json")).unwrap();
        symlink(d.join("out/dir"), root.join("notes.txt")).unwrap();
        symlink("..", root.join("up")).unwrap();
        symlink("in/a.json", root.join("chain1.json")).unwrap();
        symlink("chain1.json", root.join("chain2.json")).unwrap();
        symlink("in", root.join("alias")).unwrap();
        symlink("in/../in/a.json", root.join("dots.json")).unwrap();
        symlink("loop2.json", root.join("loop1.json")).unwrap();
        symlink("loop1.json", root.join("loop2.json")).unwrap();
        let entries = walk(&root, "R", &|n: &str| n.ends_with(".json"), &[]);
        assert_eq!(
            shown(&entries),
            [
                "error R/abs.json",
                "R/alias/a.json",
                "R/chain1.json",
                "R/chain2.json",
                "R/dots.json",
                "error R/gone.json",
                "error R/loop1.json",
                "error R/loop2.json",
                "error R/notes.txt",
                "error R/rel.json",
                "error R/up",
            ]
        );
        let message = |shown: &str| {
            entries.iter().find_map(|e| match e {
                Entry::Error { shown: s, message } if s == shown => Some(message.clone()),
                _ => None,
            })
        };
        // A link to a missing outside file says what a link to an existing one says.
        assert_eq!(message("R/abs.json"), Some(outside_link("R/abs.json", "R")));
        assert_eq!(message("R/gone.json"), Some(outside_link("R/gone.json", "R")));
        assert!(message("R/loop1.json").unwrap().contains("symbolic links"));
        // The walked directory may itself be a link (named by the user).
        symlink(&root, d.join("named")).unwrap();
        let named = walk(&d.join("named"), "N", &|n: &str| n == "a.json", &[]);
        assert_eq!(
            shown(&named),
            [
                "error N/abs.json",
                "N/alias/a.json",
                "error N/gone.json",
                "error N/notes.txt",
                "error N/rel.json",
                "error N/up"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn locate_never_looks_outside() {
        use std::os::unix::fs::symlink;
        let tmp = scratch("locate");
        let d = tmp.path();
        fs::create_dir_all(d.join("root/sub")).unwrap();
        fs::create_dir_all(d.join("out")).unwrap();
        fs::write(d.join("out/f"), "").unwrap();
        symlink(d.join("out"), d.join("root/o")).unwrap();
        let tree = Tree::new(&d.join("root"));
        let at = |p: &str| tree.locate(&d.join(p));
        assert!(matches!(at("root/sub"), Located::Inside(_)));
        assert!(matches!(at("root/missing"), Located::Unreadable(_)));
        assert!(matches!(at("root/o/f"), Located::Outside));
        assert!(matches!(at("root/o/missing"), Located::Outside));
        assert!(matches!(at("root/o/../root/sub"), Located::Outside));
        assert!(matches!(at("root/sub/../../out/f"), Located::Outside));
        assert!(matches!(at("root/sub/.."), Located::Inside(_)));
        assert!(matches!(at("root/.."), Located::Outside));
    }

    #[test]
    fn atomic_writes_replace_files_keep_permissions_and_refuse_links() {
        let tmp = scratch("write");
        let d = tmp.path();
        let p = d.join("f.txt");
        write_atomic(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
            write_atomic(&p, b"two").unwrap();
            assert_eq!(fs::read(&p).unwrap(), b"two");
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            let target = d.join("target.txt");
            fs::write(&target, "keep").unwrap();
            let link = d.join("link.txt");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = write_atomic(&link, b"evil").unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert_eq!(fs::read(&target).unwrap(), b"keep");
            assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        }
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().starts_with(".tenet-")), "{names:?}");
    }

    #[test]
    fn special_files_are_refused_before_opening() {
        #[cfg(unix)]
        {
            let tmp = scratch("kind");
            let d = tmp.path();
            let fifo = d.join("t.json");
            assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
            let e = regular_file(&fifo, "t.json").unwrap_err();
            assert!(e.contains("not a regular file"), "{e}");
            assert!(read_file(&fifo, "t.json", 10).is_err());
            assert!(open_regular(&fifo, "t.json").unwrap_err().contains("not a regular file"));
            // A file that passes the check is opened and checked again through its handle.
            let file = d.join("ok.json");
            fs::write(&file, b"{}").unwrap();
            let (_, meta) = open_regular(&file, "ok.json").unwrap();
            assert_eq!(meta.len(), 2);
        }
    }
}
