//! Disk images for the crash test: a sparse ext4 image file, attached to a loop device and
//! mounted, with guards that always unmount and detach, and the copy of the image that stands
//! for the device after a power cut.
//!
//! Every device comes from `losetup -f` and every mount point from a fresh temporary directory,
//! so concurrent runs do not collide.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::crash::CrashError;

/// Why this machine cannot run the crash test, if it cannot: it needs root and loop devices.
pub fn unavailable_reason() -> Option<String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Some(format!("needs root to attach loop devices and mount (euid {uid})")),
        None => return Some("cannot read the effective uid from /proc/self/status".to_owned()),
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control: loop devices are unavailable".to_owned());
    }
    match run_tool("losetup", &["-f"]) {
        Ok(_) => None,
        Err(error) => Some(format!("no free loop device: {error}")),
    }
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    // Real, effective, saved, filesystem.
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Creates a sparse file of `size_bytes` at `path` holding a fresh ext4 file system.
pub fn make_ext4_image(path: &Path, size_bytes: u64) -> Result<(), CrashError> {
    let file = File::create(path).map_err(CrashError::io(format!("creating {}", path.display())))?;
    file.set_len(size_bytes).map_err(CrashError::io(format!("sizing {}", path.display())))?;
    drop(file);
    run_tool("mkfs.ext4", &["-q", "-F", &path_arg(path)?]).map(|_| ())
}

/// Copies an image file as it is now, holes kept. This reads what the loop driver has written to
/// the file, never the mounted file system's page cache, and syncs nothing.
pub fn copy_image(from: &Path, to: &Path) -> Result<(), CrashError> {
    run_tool("cp", &["--sparse=always", &path_arg(from)?, &path_arg(to)?]).map(|_| ())
}

/// An image file attached to a loop device and mounted. Dropping it unmounts and detaches.
#[derive(Debug)]
pub struct MountedImage {
    device: PathBuf,
    mount_point: PathBuf,
    mounted: bool,
}

impl MountedImage {
    /// Attaches `image` to a free loop device and mounts it at `mount_point` (an existing empty
    /// directory). Mounting replays the ext4 journal, as booting after a power cut would.
    pub fn mount(image: &Path, mount_point: &Path) -> Result<MountedImage, CrashError> {
        let device = run_tool("losetup", &["-f", "--show", &path_arg(image)?])?;
        let mut mounted = MountedImage {
            device: PathBuf::from(device.trim()),
            mount_point: mount_point.to_owned(),
            mounted: false,
        };
        run_tool("mount", &["-t", "ext4", &path_arg(&mounted.device)?, &path_arg(mount_point)?])?;
        mounted.mounted = true;
        Ok(mounted)
    }

    /// Where the file system is mounted.
    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// Unmounts and detaches now, reporting failures (dropping does the same but can only log).
    pub fn unmount(mut self) -> Result<(), CrashError> {
        self.release()
    }

    fn release(&mut self) -> Result<(), CrashError> {
        if self.mounted {
            // A process that was just killed may still hold files for a moment.
            let mut attempt = 0;
            loop {
                match run_tool("umount", &[&path_arg(&self.mount_point)?]) {
                    Ok(_) => break,
                    Err(_) if attempt < 50 => {
                        attempt += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(error) => {
                        let _ = run_tool("umount", &["-l", &path_arg(&self.mount_point)?]);
                        self.mounted = false;
                        let _ = self.detach();
                        return Err(error);
                    }
                }
            }
            self.mounted = false;
        }
        self.detach()
    }

    fn detach(&mut self) -> Result<(), CrashError> {
        if self.device.as_os_str().is_empty() {
            return Ok(());
        }
        let device = std::mem::take(&mut self.device);
        run_tool("losetup", &["-d", &path_arg(&device)?]).map(|_| ())
    }
}

impl Drop for MountedImage {
    fn drop(&mut self) {
        if let Err(error) = self.release() {
            eprintln!("crash test cleanup: {error}");
        }
    }
}

/// Runs a host tool; its standard output.
pub(crate) fn run_tool(program: &str, args: &[&str]) -> Result<String, CrashError> {
    Ok(crate::host_command::run_blocking(program, args)?)
}

fn path_arg(path: &Path) -> Result<String, CrashError> {
    path.to_str().map(str::to_owned).ok_or_else(|| CrashError::Io {
        what: format!("{} is not UTF-8", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })
}
