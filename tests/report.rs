//! The HTML report in a real browser: a small real study (a digits MLP sweep with TPE and
//! Hyperband) and one of its runs are reported, opened in headless Chromium, and checked for
//! every section drawn with its data, a silent console and a screenshot that is not blank.
//! `scripts/setup.sh` installs Debian's `chromium`; without it this test fails and says so.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn anneal(dir: &Path, args: &[&str]) {
    support::stdout(&support::anneal_in(dir, args));
}

fn chromium() -> PathBuf {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|dir| Path::new(dir).join(name))
                .find(|p| p.is_file())
        })
        .expect("no chromium on the PATH: run scripts/setup.sh, which installs Debian's chromium")
}

/// The page's DOM after its scripts ran, and the browser's log (console messages included).
fn render(page: &Path) -> (String, String) {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {output:?}");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The page's `<html …>` tag, where a script error leaves its `data-error` mark.
fn root_tag(dom: &str) -> &str {
    let start = dom.find("<html").unwrap_or(0);
    &dom[start..start + dom[start..].find('>').unwrap_or(0)]
}

/// The value of `data-NAME` on the first element inside `<section id="ID">`.
fn attribute(dom: &str, section: &str, name: &str) -> Option<usize> {
    let start = dom.find(&format!("id=\"{section}\""))?;
    let end = dom[start..]
        .find("</section>")
        .map_or(dom.len(), |e| start + e);
    let key = format!("data-{name}=\"");
    let at = dom[start..end].find(&key)? + start + key.len();
    dom[at..].split('"').next()?.parse().ok()
}

/// The pixels of an 8-bit, non-interlaced PNG (what Chromium writes) and their channel count.
/// Written here rather than with the `png` crate: that crate changes the features of the
/// compression crates Burn shares, so tests and builds would compile Burn twice; zlib (flate2)
/// and PNG's five row filters are all a screenshot needs.
fn decode_png(bytes: &[u8]) -> (Vec<u8>, usize) {
    use std::io::Read;
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut compressed = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + length];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit samples");
                assert_eq!(data[12], 0, "not interlaced");
                channels = match data[9] {
                    0 => 1,
                    2 => 3,
                    4 => 2,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
            }
            b"IDAT" => compressed.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + length;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * channels;
    let mut pixels = vec![0u8; stride * height];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let row = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let left = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            };
            let up = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            };
            let up_left = if y > 0 && x >= channels {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((left as u16 + up as u16) / 2) as u8,
                4 => {
                    let p = left as i16 + up as i16 - up_left as i16;
                    let (pa, pb, pc) = (
                        (p - left as i16).abs(),
                        (p - up as i16).abs(),
                        (p - up_left as i16).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        up_left
                    }
                }
                other => panic!("row filter {other}"),
            };
            pixels[y * stride + x] = row[x].wrapping_add(predictor);
        }
    }
    (pixels, channels)
}

fn screenshot_is_not_blank(page: &Path, png_path: &Path) {
    let status = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,3000",
        ])
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(status.status.success(), "{status:?}");
    let (pixels, channels) = decode_png(&std::fs::read(png_path).expect("a screenshot"));
    let pixels = &pixels[..];
    let background = &pixels[..channels];
    let differing = pixels
        .chunks(channels)
        .filter(|p| p[..3.min(channels)] != background[..3.min(channels)])
        .count();
    let colours: std::collections::BTreeSet<&[u8]> = pixels.chunks(channels).collect();
    let share = differing as f64 / (pixels.len() / channels) as f64;
    assert!(
        share > 0.05 && colours.len() > 50,
        "the screenshot looks blank: {:.1}% of pixels differ from the background, {} colours",
        100.0 * share,
        colours.len()
    );
}

#[test]
fn a_study_report_and_a_run_report_render_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/digits-mlp.toml");
    std::fs::write(
        dir.path().join("r.sweep.toml"),
        format!(
            r#"study = "report"
base = "{}"
metric = "val_accuracy"
trials = 8
seed = 1
sampler = {{ kind = "tpe", startup_trials = 4 }}
pruner = {{ kind = "hyperband", min_resource = 1, max_resource = 3, reduction_factor = 3 }}

[[search]]
name = "train.lr"
float = [1e-4, 3e-2]
log = true

[[search]]
name = "model.units"
int = [16, 128]
log = true

[[search]]
name = "train.batch_size"
choices = [32, 64]

[[search]]
name = "train.epochs"
value = 3
"#,
            base.display()
        ),
    )
    .unwrap();
    anneal(dir.path(), &["tune", "r.sweep.toml", "--storage", "s.db"]);
    anneal(
        dir.path(),
        &["report", "report", "--storage", "s.db", "-o", "study.html"],
    );
    let page = dir.path().join("study.html");
    let (dom, log) = render(&page);

    // The page drew, without errors, every section with the study's data.
    assert!(
        !root_tag(&dom).contains("data-error"),
        "a script error: {}",
        root_tag(&dom)
    );
    assert!(
        dom.contains("data-ready=\"true\""),
        "the report did not finish drawing"
    );
    assert!(!dom.contains("render-error\">"), "a section failed to draw");
    let sections = [
        "summary",
        "history",
        "importance",
        "parallel",
        "slices",
        "contour",
        "curves",
        "trials",
        "best",
    ];
    for section in sections {
        assert!(
            dom.contains(&format!("id=\"{section}\"")),
            "no #{section} section"
        );
    }
    assert_eq!(
        attribute(&dom, "history", "points"),
        Some(8),
        "one point per trial"
    );
    assert_eq!(
        attribute(&dom, "trials", "rows"),
        Some(8),
        "one row per trial"
    );
    assert_eq!(
        attribute(&dom, "curves", "lines"),
        Some(8),
        "one curve per trial"
    );
    assert_eq!(
        attribute(&dom, "slices", "charts"),
        Some(3),
        "one slice per parameter"
    );
    assert!(attribute(&dom, "importance", "bars").is_some_and(|b| b >= 1));
    assert!(attribute(&dom, "parallel", "lines").is_some_and(|l| l >= 1));
    assert!(attribute(&dom, "contour", "points").is_some_and(|p| p >= 1));
    assert!(dom.contains("fANOVA"), "the importance method is named");
    // The console stayed silent: no error, no warning, no stray log line.
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");
    screenshot_is_not_blank(&page, &dir.path().join("study.png"));

    // A run of the study, reported from its folder.
    let run = std::fs::read_dir(dir.path().join("runs/report"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("summary.json").is_file())
        .expect("a finished run folder");
    anneal(dir.path(), &["report", run.to_str().unwrap()]);
    let (dom, log) = render(&run.join("report.html"));
    assert!(!root_tag(&dom).contains("data-error") && dom.contains("data-ready=\"true\""));
    for section in [
        "summary",
        "loss",
        "metric",
        "lr",
        "confusion",
        "per-class",
        "config",
    ] {
        assert!(
            dom.contains(&format!("id=\"{section}\"")),
            "no #{section} section"
        );
    }
    assert_eq!(
        attribute(&dom, "confusion", "cells"),
        Some(100),
        "10 × 10 digits"
    );
    assert_eq!(attribute(&dom, "per-class", "rows"), Some(10));
    assert!(!log.lines().any(|l| l.contains("CONSOLE")), "{log}");
}
