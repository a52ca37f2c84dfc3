//! A recording VFS for the power-loss test: it wraps the platform's default SQLite VFS ("unix"),
//! passes every call through, and, for files under a directory being recorded, logs every write
//! (offset and bytes), truncation, sync and deletion in the order they happen. Registered as the
//! default VFS of the test process only; the SDK itself never sees it, it opens its store with
//! whatever VFS is the default, as it does on a phone.
//!
//! What it does not see: the `-shm` index (the unix VFS maps it into memory directly, and SQLite
//! rebuilds it from the WAL after a crash, so it carries nothing durable) and files written outside
//! SQLite (the store's `.id` copy, which the test logs itself with `written_durably`).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Mutex, Once};

use rusqlite::ffi;

/// One thing the store did to a file, or a point in the test's own run.
#[derive(Debug, Clone)]
pub enum Op {
    Write {
        file: String,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        file: String,
        size: u64,
    },
    /// Everything written to `file` before this is on the disk.
    Sync {
        file: String,
    },
    Delete {
        file: String,
    },
    /// The test's run: a call began (`returned` false) or returned (true).
    Mark {
        call: usize,
        returned: bool,
    },
}

struct Recording {
    dir: PathBuf,
    ops: Vec<Op>,
}

static RECORDINGS: Mutex<Vec<Recording>> = Mutex::new(Vec::new());

/// Starts logging what happens to files under `dir` (a canonical path).
pub fn start(dir: &Path) {
    install();
    lock().push(Recording {
        dir: dir.to_path_buf(),
        ops: Vec::new(),
    });
}

/// Adds a point of the run to `dir`'s log.
pub fn mark(dir: &Path, call: usize, returned: bool) {
    record(dir, Op::Mark { call, returned });
}

/// Logs a file the store writes outside SQLite, as written whole and synced now (the store's
/// `.id` copy: a temporary file, synced, renamed into place).
pub fn written_durably(dir: &Path, name: &str, data: Vec<u8>) {
    let file = name.to_owned();
    record(
        dir,
        Op::Write {
            file: file.clone(),
            offset: 0,
            data,
        },
    );
    record(dir, Op::Sync { file });
}

/// Stops logging `dir` and returns its log.
pub fn stop(dir: &Path) -> Vec<Op> {
    let mut recordings = lock();
    let i = recordings
        .iter()
        .position(|r| r.dir == dir)
        .expect("a recording of this directory");
    recordings.swap_remove(i).ops
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Recording>> {
    RECORDINGS.lock().unwrap_or_else(|e| e.into_inner())
}

fn record(path: &Path, op: Op) {
    if let Some(r) = lock().iter_mut().find(|r| path.starts_with(&r.dir)) {
        r.ops.push(op);
    }
}

/// The name logged for `path`, if it is under a recorded directory.
fn recorded_name(path: &Path) -> Option<String> {
    let recordings = lock();
    let r = recordings.iter().find(|r| path.starts_with(&r.dir))?;
    Some(
        path.strip_prefix(&r.dir)
            .ok()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// Our file: SQLite allocates `szOsFile` bytes, the real VFS's file goes right after ours.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// The recorded directory's path of this file (boxed), or null for files not recorded.
    path: *mut PathBuf,
}

static mut REAL: *mut ffi::sqlite3_vfs = ptr::null_mut();
static mut VFS: Option<ffi::sqlite3_vfs> = None;
static INSTALL: Once = Once::new();
const NAME: &CStr = c"kmer-recording";

/// Registers the recording VFS as the process's default, once.
fn install() {
    INSTALL.call_once(|| unsafe {
        let real = ffi::sqlite3_vfs_find(ptr::null());
        assert!(!real.is_null(), "SQLite has a default VFS");
        REAL = real;
        // The real VFS's own functions (full path names, randomness, time, …) keep working with
        // a copy of it: only its pAppData is read, and the copy keeps it.
        let mut vfs = *real;
        vfs.iVersion = (*real).iVersion;
        vfs.szOsFile = (std::mem::size_of::<File>() as c_int) + (*real).szOsFile;
        vfs.pNext = ptr::null_mut();
        vfs.zName = NAME.as_ptr();
        vfs.xOpen = Some(x_open);
        vfs.xDelete = Some(x_delete);
        VFS = Some(vfs);
        let registered =
            ffi::sqlite3_vfs_register((*ptr::addr_of_mut!(VFS)).as_mut().expect("just set"), 1);
        assert_eq!(registered, ffi::SQLITE_OK);
    });
}

fn path_of(name: *const c_char) -> Option<PathBuf> {
    if name.is_null() {
        return None;
    }
    // SAFETY: SQLite passes a NUL-terminated file name.
    let name = unsafe { CStr::from_ptr(name) };
    Some(PathBuf::from(name.to_string_lossy().into_owned()))
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let ours = file as *mut File;
    let real = (file as *mut u8).add(std::mem::size_of::<File>()) as *mut ffi::sqlite3_file;
    (*ours).base.pMethods = ptr::null();
    (*ours).real = real;
    (*ours).path = ptr::null_mut();
    let rc = ((*REAL).xOpen.expect("xOpen"))(REAL, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK || (*real).pMethods.is_null() {
        return rc;
    }
    if let Some(path) = path_of(name).filter(|p| recorded_name(p).is_some()) {
        (*ours).path = Box::into_raw(Box::new(path));
    }
    (*ours).base.pMethods = &METHODS;
    rc
}

unsafe extern "C" fn x_delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    let rc = ((*REAL).xDelete.expect("xDelete"))(REAL, name, sync_dir);
    if rc == ffi::SQLITE_OK {
        if let Some(path) = path_of(name) {
            if let Some(file) = recorded_name(&path) {
                record(&path, Op::Delete { file });
            }
        }
    }
    rc
}

/// The real file and, if it is recorded, its path.
unsafe fn parts(file: *mut ffi::sqlite3_file) -> (*mut ffi::sqlite3_file, Option<&'static Path>) {
    let ours = file as *mut File;
    let path = (*ours).path;
    ((*ours).real, (!path.is_null()).then(|| (*path).as_path()))
}

unsafe fn methods(real: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    &*(*real).pMethods
}

fn log(path: Option<&Path>, op: impl FnOnce(String) -> Op) {
    if let Some(path) = path {
        if let Some(name) = recorded_name(path) {
            record(path, op(name));
        }
    }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    let ours = file as *mut File;
    let real = (*ours).real;
    let rc = (methods(real).xClose.expect("xClose"))(real);
    if !(*ours).path.is_null() {
        drop(Box::from_raw((*ours).path));
        (*ours).path = ptr::null_mut();
    }
    rc
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xRead.expect("xRead"))(real, buf, amount, offset)
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let (real, path) = parts(file);
    let rc = (methods(real).xWrite.expect("xWrite"))(real, buf, amount, offset);
    if rc == ffi::SQLITE_OK {
        let data = std::slice::from_raw_parts(buf as *const u8, amount as usize).to_vec();
        log(path, |file| Op::Write {
            file,
            offset: offset as u64,
            data,
        });
    }
    rc
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    let (real, path) = parts(file);
    let rc = (methods(real).xTruncate.expect("xTruncate"))(real, size);
    if rc == ffi::SQLITE_OK {
        log(path, |file| Op::Truncate {
            file,
            size: size as u64,
        });
    }
    rc
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let (real, path) = parts(file);
    let rc = (methods(real).xSync.expect("xSync"))(real, flags);
    if rc == ffi::SQLITE_OK {
        log(path, |file| Op::Sync { file });
    }
    rc
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xFileSize.expect("xFileSize"))(real, size)
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xLock.expect("xLock"))(real, level)
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xUnlock.expect("xUnlock"))(real, level)
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    let (real, _) = parts(file);
    (methods(real)
        .xCheckReservedLock
        .expect("xCheckReservedLock"))(real, out)
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xFileControl.expect("xFileControl"))(real, op, arg)
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xSectorSize.expect("xSectorSize"))(real)
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    let (real, _) = parts(file);
    (methods(real)
        .xDeviceCharacteristics
        .expect("xDeviceCharacteristics"))(real)
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xShmMap.expect("xShmMap"))(real, region, size, extend, out)
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xShmLock.expect("xShmLock"))(real, offset, n, flags)
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    let (real, _) = parts(file);
    (methods(real).xShmBarrier.expect("xShmBarrier"))(real)
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    let (real, _) = parts(file);
    (methods(real).xShmUnmap.expect("xShmUnmap"))(real, delete)
}

/// No memory-mapped reads: every read goes through `xRead` (SQLite falls back when `xFetch`
/// gives no pointer), so nothing bypasses the wrapper.
unsafe extern "C" fn x_fetch(
    _file: *mut ffi::sqlite3_file,
    _offset: ffi::sqlite3_int64,
    _amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    *out = ptr::null_mut();
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_unfetch(
    _file: *mut ffi::sqlite3_file,
    _offset: ffi::sqlite3_int64,
    _page: *mut c_void,
) -> c_int {
    ffi::SQLITE_OK
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};
