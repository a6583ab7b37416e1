//! Tables as they really come: text columns, missing cells, a separate test file. Everything
//! learned (categories, fill values) comes from the training rows only, and every bad input is
//! an error naming the file, line, column and the way out.

mod common;

use std::path::{Path, PathBuf};

use common::{csv_source, write};

use anneal_data::formats::csv::{Delimiter, Header, TargetColumn};
use anneal_data::{
    CsvSource, Encoding, Impute, SplitConfig, TabularData, TabularOptions, Targets, Task,
    UnseenCategory,
};

fn source(path: PathBuf, test: Option<PathBuf>) -> CsvSource {
    CsvSource {
        test_path: test,
        ..csv_source(
            path,
            Task::Classification,
            TargetColumn::Name("label".into()),
        )
    }
}

fn options(impute: Impute, encoding: Encoding, unseen: UnseenCategory) -> TabularOptions {
    TabularOptions {
        impute,
        encoding,
        unseen_category: unseen,
    }
}

/// Encodes with the encoder fitted on `rows` of the training file.
fn encode(
    source: &CsvSource,
    rows: &[usize],
    options: TabularOptions,
) -> anneal_data::Result<(anneal_data::TabularEncoder, Vec<f32>, Option<Vec<f32>>)> {
    let data = TabularData::read(source)?;
    let (encoder, train, test) = data.encode(rows, &options)?;
    Ok((encoder, train.features, test.map(|t| t.features)))
}

#[test]
fn text_columns_become_one_hot_or_ordinal_features_in_sorted_category_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "pets.csv",
        "colour,weight,label\nred,4,cat\nblue,30,dog\ngreen,3.5,cat\nblue,20,dog\n",
    );
    let csv = source(path, None);
    let all = [0, 1, 2, 3];
    let (encoder, features, _) = encode(&csv, &all, TabularOptions::default()).unwrap();
    assert_eq!(
        encoder.feature_names(),
        ["colour=blue", "colour=green", "colour=red", "weight"]
    );
    #[rustfmt::skip]
    assert_eq!(features, [
        0.0, 0.0, 1.0, 4.0,
        1.0, 0.0, 0.0, 30.0,
        0.0, 1.0, 0.0, 3.5,
        1.0, 0.0, 0.0, 20.0,
    ]);
    let ordinal = options(Impute::Error, Encoding::Ordinal, UnseenCategory::Error);
    let (encoder, features, _) = encode(&csv, &all, ordinal).unwrap();
    assert_eq!(encoder.feature_names(), ["colour", "weight"]);
    assert_eq!(features, [2.0, 4.0, 0.0, 30.0, 1.0, 3.5, 0.0, 20.0]);
}

#[test]
fn categories_come_from_the_training_rows_and_an_unseen_one_is_an_error_or_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "pets.csv",
        "colour,weight,label\nred,4,cat\nblue,30,dog\npurple,3.5,cat\nblue,20,dog\n",
    );
    let csv = source(path, None);
    // Row 2 (line 4) is not a training row: its 'purple' was never seen.
    let train_rows = [0, 1, 3];
    let err = encode(&csv, &train_rows, TabularOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("pets.csv, line 4, column 1")
            && text.contains("'purple' in column 'colour'")
            && text.contains("blue, red")
            && text.contains("data.unseen_category = \"zeros\""),
        "{text}"
    );
    let zeros = options(Impute::Error, Encoding::OneHot, UnseenCategory::Zeros);
    let (encoder, features, _) = encode(&csv, &train_rows, zeros).unwrap();
    assert_eq!(
        encoder.feature_names(),
        ["colour=blue", "colour=red", "weight"]
    );
    assert_eq!(
        &features[6..9],
        [0.0, 0.0, 3.5],
        "an unseen category is all zeros"
    );
    let ordinal = options(Impute::Error, Encoding::Ordinal, UnseenCategory::Zeros);
    let (_, features, _) = encode(&csv, &train_rows, ordinal).unwrap();
    assert_eq!(
        &features[4..6],
        [-1.0, 3.5],
        "ordinal: below every known code"
    );
}

#[test]
fn missing_cells_are_an_error_by_default_and_filled_from_training_rows_on_request() {
    let dir = tempfile::tempdir().unwrap();
    // Training rows 0..3; row 4 (weight 1000) is held out and must not move the fill values.
    let text = "colour,weight,label\nred,1,cat\n,2,dog\nred,NA,cat\nblue,6,dog\nblue,1000,cat\nNULL,nan,dog\n";
    let path = write(dir.path(), "holes.csv", text);
    let csv = source(path, None);
    let train_rows = [0, 1, 2, 3];
    let err = encode(&csv, &train_rows, TabularOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("holes.csv, line 3, column 1")
            && message.contains("missing value (empty) in column 'colour'")
            && message.contains("data.impute"),
        "the first missing cell, by line and column: {message}"
    );
    let fill = |impute| {
        let (_, features, _) = encode(
            &csv,
            &train_rows,
            options(impute, Encoding::Ordinal, UnseenCategory::Error),
        )
        .unwrap();
        // Row 2's weight (NA) and row 5's colour (NULL) and weight (nan) were filled.
        (features[5], features[10], features[11])
    };
    // Training weights 1, 2, 6 (row 2's is missing); colours red, red, blue (row 1's missing).
    assert_eq!(fill(Impute::Mean), (3.0, 1.0, 3.0));
    assert_eq!(fill(Impute::Median), (2.0, 1.0, 2.0));
    assert_eq!(fill(Impute::MostFrequent), (1.0, 1.0, 1.0));
}

#[test]
fn a_number_column_with_a_stray_word_is_an_error_with_the_ways_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "uci.csv",
        "a,b,label\n1,2,x\n3,?,y\n5,6,x\n7,8,y\n",
    );
    let mut csv = source(path, None);
    let err = TabularData::read(&csv).unwrap_err().to_string();
    assert!(
        err.contains("uci.csv, line 3, column 2: '?' is not a number")
            && err.contains("data.csv.missing")
            && err.contains("data.csv.categorical"),
        "{err}"
    );
    csv.missing = vec!["?".into()];
    let all = [0, 1, 2, 3];
    let mean = options(Impute::Mean, Encoding::OneHot, UnseenCategory::Error);
    let (_, features, _) = encode(&csv, &all, mean).unwrap();
    assert_eq!(
        features[3],
        16.0 / 3.0,
        "'?' is missing, filled with the mean"
    );

    csv.missing.clear();
    csv.categorical = vec!["b".into()];
    let (encoder, _, _) = encode(&csv, &all, TabularOptions::default()).unwrap();
    assert_eq!(encoder.feature_names(), ["a", "b=2", "b=6", "b=8", "b=?"]);
    csv.categorical = vec!["bee".into()];
    let err = TabularData::read(&csv).unwrap_err().to_string();
    assert!(
        err.contains("data.csv.categorical") && err.contains("no column named 'bee'"),
        "{err}"
    );
}

#[test]
fn a_missing_target_is_never_imputed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.csv", "a,label\n1,x\n2,\n3,y\n");
    let err = TabularData::read(&source(path, None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t.csv, line 3, column 2") && err.contains("target ('label') is missing"),
        "{err}"
    );
}

#[test]
fn a_separate_test_file_is_the_test_set_and_is_checked_column_by_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut train = String::from("colour,weight,label\n");
    for i in 0..40 {
        let (colour, label) = if i % 2 == 0 {
            ("red", "cat")
        } else {
            ("blue", "dog")
        };
        train.push_str(&format!("{colour},{i},{label}\n"));
    }
    let train = write(dir.path(), "train.csv", &train);
    // Columns in another order: matched by name.
    let test = write(
        dir.path(),
        "test.csv",
        "label,weight,colour\ndog,7,blue\ncat,8,red\ncat,9,red\n",
    );
    let csv = source(train.clone(), Some(test));
    let (splits, encoder) = TabularData::read(&csv)
        .unwrap()
        .split(&SplitConfig::default(), &TabularOptions::default(), false)
        .unwrap();
    assert!(splits.official_test);
    assert_eq!(splits.train.len() + splits.validation.len(), 40);
    assert_eq!(splits.test.targets, Targets::Classes(vec![1, 0, 0]));
    assert_eq!(
        splits.test.features,
        [1.0, 0.0, 7.0, 0.0, 1.0, 8.0, 0.0, 1.0, 9.0]
    );
    assert_eq!(
        encoder.feature_names(),
        ["colour=blue", "colour=red", "weight"]
    );

    let cases = [
        ("label,weight\ncat,1\n", "column 'colour' is missing"),
        (
            "colour,weight,size,label\nred,1,3,cat\n",
            "column 'size' is not one the model was trained on",
        ),
        (
            "colour,weight\nred,1\n",
            "the test file has no target column 'label'",
        ),
        (
            "colour,weight,label\nred,1,bird\n",
            "line 2, column 3: class 'bird' does not occur in the training data",
        ),
    ];
    for (text, expected) in cases {
        let bad = write(dir.path(), "bad-test.csv", text);
        let csv = source(train.clone(), Some(bad));
        let err = TabularData::read(&csv)
            .and_then(|d| d.split(&SplitConfig::default(), &TabularOptions::default(), false))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad-test.csv") && err.contains(expected),
            "{expected}: {err}"
        );
    }
}

#[test]
fn categories_and_fill_values_are_fitted_on_the_training_split_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("colour,weight,label\n");
    for i in 0..100 {
        let label = if i % 2 == 0 { "cat" } else { "dog" };
        text.push_str(&format!(
            "c{},{},{label}\n",
            i % 50,
            if i % 7 == 0 { "".into() } else { i.to_string() }
        ));
    }
    let csv = source(write(dir.path(), "pool.csv", &text), None);
    let zeros = options(Impute::Mean, Encoding::OneHot, UnseenCategory::Zeros);
    let config = SplitConfig::default();
    let data = TabularData::read(&csv).unwrap();
    let plan = anneal_data::plan_split(&data.targets, false, &config).unwrap();
    let (_, encoder) = data.split(&config, &zeros, false).unwrap();
    let (categories, fill) = match &encoder.columns[..] {
        [colour, weight] => (
            match &colour.encoding {
                anneal_data::tabular::ColumnEncoding::Categorical { categories, .. } => {
                    categories.clone()
                }
                other => panic!("colour: {other:?}"),
            },
            match &weight.encoding {
                anneal_data::tabular::ColumnEncoding::Numeric { fill } => fill.unwrap(),
                other => panic!("weight: {other:?}"),
            },
        ),
        other => panic!("{other:?}"),
    };
    let mut expected: Vec<String> = plan.train.iter().map(|&i| format!("c{}", i % 50)).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(categories, expected, "categories of the training rows only");
    let present: Vec<f64> = plan
        .train
        .iter()
        .filter(|&&i| i % 7 != 0)
        .map(|&i| i as f64)
        .collect();
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    assert_eq!(fill, mean as f32, "the mean of the training rows only");
}

#[test]
fn odd_columns_and_empty_files_are_errors_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, text: &str| {
        TabularData::read(&source(write(dir.path(), name, text), None))
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    // Mostly text with a stray number: the number is the odd one out.
    let err = read("sizes.csv", "size,label\nS,a\nM,b\nL,a\n10,b\n");
    assert!(
        err.contains(
            "sizes.csv, line 5, column 1: '10' is a number, but column 'size' otherwise holds text"
        ) && err.contains("data.csv.categorical"),
        "{err}"
    );
    // What f64 reads but training does not (NAN, inf, 1e39 as f32) is not a number.
    let err = read("inf.csv", "x,label\n1,a\ninf,b\n2,a\n");
    assert!(
        err.contains("line 3, column 1: 'inf' is not a number") && err.contains("data.csv.missing"),
        "{err}"
    );
    let err = read("header.csv", "x,label\n");
    assert!(err.contains("header.csv: no data rows"), "{err}");
    let mut sklearn = source(write(dir.path(), "sk.csv", "3,1,a,b\n1,a\n2,b\n"), None);
    sklearn.header = Header::Sklearn;
    sklearn.target = TargetColumn::Name("last".into());
    let err = TabularData::read(&sklearn)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected 3 data rows (as its header declares), found 2"),
        "{err}"
    );
}

#[test]
fn ignored_columns_are_no_features_and_new_data_may_carry_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ids.csv",
        "id,colour,weight,label\nA1,red,4,cat\nB2,blue,30,dog\nC3,red,3,cat\nD4,blue,20,dog\n",
    );
    let mut csv = source(path, None);
    csv.ignore = vec!["id".into()];
    let (encoder, features, _) = encode(&csv, &[0, 1, 2, 3], TabularOptions::default()).unwrap();
    assert_eq!(
        encoder.feature_names(),
        ["colour=blue", "colour=red", "weight"]
    );
    assert_eq!(&features[..3], [0.0, 1.0, 4.0]);
    // New rows by name: the ID may be there (it is passed through) or not.
    let new = anneal_data::formats::csv::read_raw(
        &write(dir.path(), "new.csv", "weight,colour,id\n5,red,Z9\n"),
        Delimiter::Comma,
        Header::Names,
    )
    .unwrap();
    let binding = encoder.bind(&new).unwrap();
    assert_eq!(binding.passthrough, [("id".to_string(), 2)]);
    assert_eq!(encoder.encode(&new, &binding).unwrap(), [0.0, 1.0, 5.0]);

    for (ignore, expected) in [
        (
            vec!["label".to_string()],
            "'label' is the target; it cannot be ignored",
        ),
        (
            vec!["idd".to_string()],
            "data.csv.ignore`: no column named 'idd'",
        ),
        (
            vec!["id".into(), "colour".into(), "weight".into()],
            "nothing is left to learn from",
        ),
    ] {
        csv.ignore = ignore;
        let err = TabularData::read(&csv).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn files_without_a_header_bind_by_the_training_files_layout() {
    let dir = tempfile::tempdir().unwrap();
    // x0 = an ID (ignored), x1 = a feature, x2 = the target, x3 = a feature.
    let path = write(
        dir.path(),
        "plain.csv",
        "a,1,cat,5\nb,2,dog,6\nc,3,cat,7\nd,4,dog,8\n",
    );
    let mut csv = source(path, None);
    csv.header = Header::None;
    csv.target = TargetColumn::Index(2);
    csv.ignore = vec!["x0".into()];
    let (encoder, _, _) = encode(&csv, &[0, 1, 2, 3], TabularOptions::default()).unwrap();
    let bind = |text: &str| {
        let table = anneal_data::formats::csv::parse_raw(
            Path::new("new.csv"),
            text.as_bytes(),
            Delimiter::Comma,
            Header::None,
        )
        .unwrap();
        encoder
            .bind(&table)
            .map(|b| (b.columns, b.target, b.passthrough))
    };
    let id = |at: usize| vec![("x0".to_string(), at)];
    assert_eq!(bind("z,9,cat,10\n").unwrap(), (vec![1, 3], Some(2), id(0)));
    // Without the target, the columns after it move one place left.
    assert_eq!(bind("z,9,10\n").unwrap(), (vec![1, 2], None, id(0)));
    let err = bind("9,10\n").unwrap_err().to_string();
    assert!(
        err.contains("rows have 2 columns; without a header, rows need the training file's columns in order: 3 (2 features: x1, x3, then passed through: x0), the target 'x2' optionally"),
        "{err}"
    );
}

#[test]
fn ignored_columns_may_not_take_a_name_the_predictions_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "p.csv", "predicted,x,label\n1,2,a\n3,4,b\n");
    let mut csv = source(path, None);
    csv.ignore = vec!["predicted".into()];
    let err = TabularData::read(&csv).map(|_| ()).unwrap_err().to_string();
    assert!(
        err.contains("'predicted' would clash with a column of the predictions"),
        "{err}"
    );
}
