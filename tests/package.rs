//! The Linux packages as a user gets them: the `.deb` and `.rpm` that the
//! test command builds with Tauri's bundler (a debug build: see
//! scripts/test.sh), their files and control fields, the desktop entry
//! (desktop-file-validate), and the packaged app run from an extracted `.deb`
//! under Xvfb: its window opens, carries the class the desktop entry names,
//! and a second launch exits and leaves one window.
//!
//! Without packages (a plain `cargo test`) these say so and skip, except under
//! CI=true, where that fails.

use runnel_testsupport as common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The icon sizes installed into the hicolor theme.
const ICON_SIZES: [u32; 5] = [32, 64, 128, 256, 512];

/// What both packages install, relative to `/`: the two binaries, the
/// desktop entry and the icon at every size.
fn packaged_files() -> Vec<String> {
    let mut files = vec![
        "usr/bin/runnel-window".to_owned(),
        "usr/bin/runnel".to_owned(),
        "usr/share/applications/Runnel.desktop".to_owned(),
    ];
    files.extend(
        ICON_SIZES.map(|n| format!("usr/share/icons/hicolor/{n}x{n}/apps/runnel-window.png")),
    );
    files
}

/// The newest package with this extension under target/*/bundle/.
fn package(ext: &str) -> Option<PathBuf> {
    let target = common::bin::workspace_bin("runnel")
        .parent()?
        .parent()?
        .to_path_buf();
    let mut found: Vec<PathBuf> = ["debug", "release"]
        .iter()
        .flat_map(|p| {
            std::fs::read_dir(target.join(p).join("bundle").join(ext))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
        })
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.pop()
}

/// The package, or a notice (a failure under CI=true).
fn package_or_skip(ext: &str) -> Option<PathBuf> {
    let p = package(ext);
    if p.is_none() {
        common::skip(&format!(
            "the package test: no .{ext} was built (scripts/test.sh builds one)"
        ));
    }
    p
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_deb_holds_both_binaries_the_desktop_entry_every_icon_and_its_dependencies() {
    let Some(deb) = package_or_skip("deb") else {
        return;
    };
    let deb = deb.to_string_lossy();
    let listing = run("dpkg-deb", &["-c", &deb]);
    // The path is the listing's last field ("./usr/..." or "usr/...").
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_start_matches("./"))
        .collect();
    for f in packaged_files() {
        assert!(files.contains(&f.as_str()), "{f} in the .deb:\n{listing}");
    }
    let depends = run("dpkg-deb", &["-f", &deb, "Depends"]);
    for dep in ["libwebkit2gtk-4.1-0", "libgtk-3-0"] {
        assert!(depends.contains(dep), "Depends: {depends}");
    }
    let recommends = run("dpkg-deb", &["-f", &deb, "Recommends"]);
    assert!(
        recommends.contains("gnome-keyring") && recommends.contains("keepassxc"),
        "Recommends: {recommends}"
    );
    assert_eq!(run("dpkg-deb", &["-f", &deb, "Package"]).trim(), "runnel");

    // The desktop entry, as installed.
    let root = common::temp::TempDir::new("deb-root");
    run("dpkg-deb", &["-x", &deb, &root.path().to_string_lossy()]);
    let entry = root.path().join("usr/share/applications/Runnel.desktop");
    run("desktop-file-validate", &[&entry.to_string_lossy()]);
    let text = std::fs::read_to_string(&entry).expect("desktop entry");
    for line in [
        "Exec=runnel-window",
        "Icon=runnel-window",
        "StartupWMClass=runnel-window",
        "Categories=Network;Chat;",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("Comment=")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("Keywords=")), "{text}");
}

#[test]
fn the_rpm_holds_both_binaries_the_desktop_entry_and_its_dependencies() {
    let Some(rpm) = package_or_skip("rpm") else {
        return;
    };
    let rpm = rpm.to_string_lossy();
    let files = run("rpm", &["-qlp", &rpm]);
    for f in packaged_files() {
        assert!(
            files
                .lines()
                .any(|l| l.strip_prefix('/') == Some(f.as_str())),
            "/{f} in the .rpm:\n{files}"
        );
    }
    let requires = run("rpm", &["-qp", "--requires", &rpm]);
    // The bundler requires the libraries by soname (what Fedora's
    // webkit2gtk4.1 and gtk3 provide).
    for lib in ["libwebkit2gtk-4.1.so.0", "libgtk-3.so.0"] {
        assert!(requires.contains(lib), "Requires: {requires}");
    }
    let recommends = run("rpm", &["-qp", "--recommends", &rpm]);
    assert!(
        recommends.contains("gnome-keyring"),
        "Recommends: {recommends}"
    );
}

/// Visible windows of a process, by `xdotool`.
fn windows_of(pid: u32) -> Vec<String> {
    Command::new("xdotool")
        .args(["search", "--onlyvisible", "--pid", &pid.to_string()])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The packaged app's environment: its own data and config folders.
fn packaged_env<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    common::window::app_env(cmd, home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

#[test]
fn the_packaged_app_opens_its_window_and_a_second_launch_leaves_one() {
    let Some(deb) = package_or_skip("deb") else {
        return;
    };
    if !common::window::have_display("the packaged app") {
        return;
    }
    let root = common::temp::TempDir::new("deb-run");
    run(
        "dpkg-deb",
        &["-x", &deb.to_string_lossy(), &root.path().to_string_lossy()],
    );
    // The command from the package runs.
    let version = run(
        &root.path().join("usr/bin/runnel").to_string_lossy(),
        &["--version"],
    );
    assert!(version.starts_with("runnel "), "{version}");

    let home = common::temp::TempDir::new("deb-home");
    // Launched from its desktop entry, as the app menu does (gtk-launch finds
    // the entry in XDG_DATA_DIRS and runs its Exec line from PATH).
    let app = root.path().join("usr/bin/runnel-window");
    let path = format!(
        "{}:{}",
        root.path().join("usr/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let launched = packaged_env(Command::new("gtk-launch").arg("Runnel"), home.path())
        .env("XDG_DATA_DIRS", root.path().join("usr/share"))
        .env("PATH", &path)
        .status()
        .expect("gtk-launch");
    assert!(launched.success(), "gtk-launch Runnel: {launched}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (pid, window) = loop {
        if let Some(pid) = pid_of(&app) {
            if let Some(w) = windows_of(pid).into_iter().next() {
                break (pid, w);
            }
        }
        assert!(Instant::now() < deadline, "no window from the packaged app");
        std::thread::sleep(Duration::from_millis(200));
    };
    // The class the desktop entry's StartupWMClass names (the dock groups by it).
    let class = run("xprop", &["-id", &window, "WM_CLASS"]);
    assert!(class.contains("\"runnel-window\""), "{class}");

    // A second launch with the same data hands over and exits at once.
    let status = packaged_env(&mut Command::new(&app), home.path())
        .status()
        .expect("second launch");
    assert!(status.success(), "{status}");
    assert_eq!(pid_of(&app), Some(pid), "the first still runs, alone");
    assert_eq!(windows_of(pid).len(), 1, "one window");
    // SAFETY: signalling the app this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
}

/// The pid of the process running this executable, if one does.
fn pid_of(exe: &Path) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
}
