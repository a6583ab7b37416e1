//! The page: the report's data as JSON in a `<script type="application/json">` element, the
//! styles and scripts inlined, nothing fetched when it opens.

use serde::Serialize;

use crate::{RunReport, StudyReport};

const CSS: &str = include_str!("../assets/report.css");
const COMMON_JS: &str = include_str!("../assets/common.js");
const CHARTS_JS: &str = include_str!("../assets/charts.js");
const STUDY_JS: &str = include_str!("../assets/study.js");
const RUN_JS: &str = include_str!("../assets/run.js");

/// The HTML page of a study report.
pub fn study_page(report: &StudyReport) -> String {
    page(
        &format!("Study {}", report.study.name),
        report,
        &[COMMON_JS, CHARTS_JS, STUDY_JS],
    )
}

/// The HTML page of a run report.
pub fn run_page(report: &RunReport) -> String {
    page(
        &format!("Run {}", report.run.name),
        report,
        &[COMMON_JS, CHARTS_JS, RUN_JS],
    )
}

fn page(title: &str, data: &impl Serialize, scripts: &[&str]) -> String {
    let json = serde_json::to_string(data).expect("report data serialises");
    let mut html = String::with_capacity(json.len() + 64 * 1024);
    html.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(&format!("<title>{} · anneal</title>\n", escape_text(title)));
    html.push_str("<style>\n");
    html.push_str(CSS);
    html.push_str("\n</style>\n</head>\n<body>\n");
    html.push_str("<noscript>This report draws its charts with JavaScript; the data is in the page source.</noscript>\n");
    html.push_str("<main id=\"report\"></main>\n");
    html.push_str("<script id=\"data\" type=\"application/json\">");
    html.push_str(&script_safe(&json));
    html.push_str("</script>\n");
    // Errors leave a mark on the page, and a finished render counts its sections, so a test
    // (or a reader's devtools) sees at a glance whether the page drew.
    html.push_str(
        "<script>\nwindow.addEventListener('error', function (e) {\n  document.documentElement.setAttribute('data-error', String(e.message || e));\n});\n</script>\n",
    );
    for script in scripts {
        html.push_str("<script>\n");
        html.push_str(script);
        html.push_str("\n</script>\n");
    }
    html.push_str(
        "<script>\ndocument.addEventListener('DOMContentLoaded', function () {\n  document.documentElement.setAttribute('data-sections', String(document.querySelectorAll('#report section').length));\n});\n</script>\n",
    );
    html.push_str("</body>\n</html>\n");
    html
}

/// JSON that cannot end its `<script>` element early: `<`, `>` and `&` only occur inside JSON
/// strings, where their `\u` escapes mean the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let safe = script_safe(r#"{"name":"</script><script>alert(1)</script>"}"#);
        assert!(!safe.contains("</script"));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script>");
        assert_eq!(escape_text("a<b & c"), "a&lt;b &amp; c");
    }
}
