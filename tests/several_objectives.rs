//! Several objectives from the command line: a command sweep whose program prints one value
//! per objective, `ask --directions` and `tell --values`, and the Pareto front as every
//! command shows it.

mod support;

use support::{anneal_in, json, stderr_of_failure, stdout};

#[test]
fn a_command_sweep_with_two_objectives_ends_with_its_pareto_front() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("objective.py"),
        "import sys\nx = float(sys.argv[1])\nprint(f\"anneal: values {x * x} {(x - 2) ** 2}\")\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mo.sweep.toml"),
        "study = \"mo\"\ncommand = [\"python3\", \"objective.py\", \"{x}\"]\n\
         directions = [\"minimize\", \"minimize\"]\ntrials = 12\n\
         [[search]]\nname = \"x\"\nfloat = [-1.0, 3.0]\n",
    )
    .unwrap();
    let tuned = anneal_in(
        dir.path(),
        &["tune", "mo.sweep.toml", "--storage", "s.db", "-q"],
    );
    let text = stdout(&tuned);
    assert!(text.contains("12 trials (12 complete"), "{text}");
    assert!(
        text.contains("Pareto front of 'mo' (minimize, minimize)"),
        "{text}"
    );

    let best = anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "best", "mo", "--json"],
    );
    let front = json(&stdout(&best));
    let front = front.as_array().unwrap();
    assert!(!front.is_empty());
    for trial in front {
        let values = trial["values"].as_array().unwrap();
        let x = trial["params"][0][1].as_f64().unwrap();
        assert_eq!(values.len(), 2);
        assert!(
            (values[0].as_f64().unwrap() - x * x).abs() < 1e-9,
            "{trial}"
        );
    }
    let listed = stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "list"],
    ));
    assert!(
        listed.contains(&format!("front {}", front.len())) && listed.contains("2 goals"),
        "{listed}"
    );

    // No one trial is best: exporting a config asks for a trial of the front.
    let export = anneal_in(
        dir.path(),
        &[
            "study",
            "--storage",
            "s.db",
            "export",
            "mo",
            "--config",
            "best.toml",
        ],
    );
    let err = stderr_of_failure(&export);
    assert!(
        err.contains("several objectives") && err.contains("Pareto front"),
        "{err}"
    );
    let number = front[0]["number"].as_u64().unwrap().to_string();
    let export = anneal_in(
        dir.path(),
        &[
            "study",
            "--storage",
            "s.db",
            "export",
            "mo",
            "--config",
            "t.toml",
            "--trial",
            &number,
        ],
    );
    let err = stderr_of_failure(&export);
    assert!(err.contains(&format!("trial {number}'s folder")), "{err}");

    // A study of one objective cannot say `directions` with a training or synthetic sweep.
    std::fs::write(
        dir.path().join("bad.sweep.toml"),
        "study = \"bad\"\nsynthetic = \"branin\"\ndirections = [\"minimize\", \"maximize\"]\n",
    )
    .unwrap();
    let refused = anneal_in(dir.path(), &["tune", "bad.sweep.toml", "--storage", "s.db"]);
    let err = stderr_of_failure(&refused);
    assert!(
        err.contains("directions") && err.contains("anneal: values"),
        "{err}"
    );
}

#[test]
fn ask_and_tell_carry_one_value_per_objective() {
    let dir = tempfile::tempdir().unwrap();
    let ask = || {
        let out = anneal_in(
            dir.path(),
            &[
                "ask",
                "--study",
                "two",
                "--storage",
                "s.db",
                "--space",
                r#"{"x": {"float": [0, 1]}}"#,
                "--directions",
                "maximize,minimize",
            ],
        );
        json(&stdout(&out))["trial"].as_u64().unwrap().to_string()
    };
    let tell = |trial: &str, values: &[&str]| {
        let mut args = vec![
            "tell",
            "--study",
            "two",
            "--storage",
            "s.db",
            "--trial",
            trial,
            "--values",
        ];
        args.extend_from_slice(values);
        stdout(&anneal_in(dir.path(), &args))
    };
    let first = ask();
    let told = tell(&first, &["0.9", "12"]);
    assert!(told.contains("complete, values 0.9 12"), "{told}");
    // One value for two objectives fails the trial, and says why.
    let second = ask();
    let told = tell(&second, &["0.5"]);
    assert!(
        told.contains("failed") && told.contains("gave 1 value(s); the study has 2 objective(s)"),
        "{told}"
    );
    let best = stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "best", "two"],
    ));
    assert!(best.contains("trial 0: 0.900000, 12.000000"), "{best}");
}

#[test]
fn a_command_sweep_constrains_what_its_program_prints() {
    let dir = tempfile::tempdir().unwrap();
    // The value is lowest at x = 0; the constraint keeps only x >= 1.
    std::fs::write(
        dir.path().join("objective.py"),
        "import sys\nx = float(sys.argv[1])\nprint(f\"anneal: metric size {x}\")\n\
         print(f\"anneal: value {x * x}\")\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c.sweep.toml"),
        "study = \"c\"\ncommand = [\"python3\", \"objective.py\", \"{x}\"]\n\
         constraints = [\"size >= 1\"]\ntrials = 10\nsampler = { kind = \"random\" }\n\
         [[search]]\nname = \"x\"\nfloat = [0.0, 2.0]\n",
    )
    .unwrap();
    let tuned = anneal_in(dir.path(), &["tune", "c.sweep.toml", "--storage", "s.db"]);
    let text = stdout(&tuned);
    assert!(text.contains("subject to size >= 1"), "{text}");
    assert!(text.contains("(infeasible)"), "{text}");
    let best = json(&stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "best", "c", "--json"],
    )));
    let x = best["params"][0][1].as_f64().unwrap();
    assert!(x >= 1.0, "the best trial keeps the constraint: {best}");
    assert_eq!(best["constraints"][0].as_f64().unwrap(), 1.0 - x);

    // A constraint on a figure the program never prints fails the trial, saying which.
    std::fs::write(
        dir.path().join("m.sweep.toml"),
        "study = \"m\"\ncommand = [\"python3\", \"objective.py\", \"{x}\"]\n\
         constraints = [\"speed >= 1\"]\ntrials = 1\n\
         [[search]]\nname = \"x\"\nfloat = [0.0, 2.0]\n",
    )
    .unwrap();
    let failed = anneal_in(dir.path(), &["tune", "m.sweep.toml", "--storage", "s.db"]);
    let text = stderr_of_failure(&failed);
    assert!(
        text.contains("speed") && text.contains("anneal: metric NAME VALUE"),
        "{text}"
    );
}
