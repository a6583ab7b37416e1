//! Several objectives at once: which points no other beats on every objective (the Pareto
//! front, found by non-dominated sorting), how crowded each point of a front is, how much of
//! the objective space a set of points covers (its hypervolume), and how far a trial is from
//! meeting its constraints. Points are loss vectors: every objective lower-is-better
//! ([`crate::Direction::loss`]).
//!
//! Written here rather than taken from a crate: no maintained Rust crate offers non-dominated
//! sorting with constraint ranks, crowding distance and exact hypervolume together (the
//! algorithms are Deb et al. 2002 for NSGA-II's sorting and crowding, and While et al. 2012's
//! WFG for the hypervolume).

use crate::direction::Direction;
use crate::storage::{TrialRecord, TrialState};

/// How far constraint values are from being met: the sum of their parts above 0 (a constraint
/// is met at or below 0, as Optuna's). 0 when every one is met, or there are none.
pub fn violation(constraints: &[f64]) -> f64 {
    constraints.iter().map(|c| c.max(0.0)).sum()
}

/// Whether loss vector `a` dominates `b`: no worse on every objective, better on one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Each point's front (0: the Pareto front; 1: the front once that is removed; …), by Deb's
/// fast non-dominated sort. With `violations`, constraint-domination: points that meet their
/// constraints are sorted first, then the others by how far they miss them (equal violations
/// share a rank).
pub fn nondominated_ranks(losses: &[Vec<f64>], violations: Option<&[f64]>) -> Vec<usize> {
    let feasible = |i: usize| violations.is_none_or(|v| v[i] <= 0.0);
    let candidates: Vec<usize> = (0..losses.len()).filter(|&i| feasible(i)).collect();
    let mut ranks = vec![0; losses.len()];
    // Deb et al. 2002: who each point dominates, and by how many it is dominated.
    let mut dominated: Vec<Vec<usize>> = vec![Vec::new(); losses.len()];
    let mut count = vec![0usize; losses.len()];
    for (k, &i) in candidates.iter().enumerate() {
        for &j in &candidates[k + 1..] {
            if dominates(&losses[i], &losses[j]) {
                dominated[i].push(j);
                count[j] += 1;
            } else if dominates(&losses[j], &losses[i]) {
                dominated[j].push(i);
                count[i] += 1;
            }
        }
    }
    let mut front: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| count[i] == 0)
        .collect();
    let mut rank = 0;
    let mut deepest = 0;
    while !front.is_empty() {
        let mut next = Vec::new();
        for &i in &front {
            ranks[i] = rank;
            deepest = rank;
            for &j in &dominated[i] {
                count[j] -= 1;
                if count[j] == 0 {
                    next.push(j);
                }
            }
        }
        front = next;
        rank += 1;
    }
    if let Some(violations) = violations {
        let first_infeasible = if candidates.is_empty() {
            0
        } else {
            deepest + 1
        };
        let mut missed: Vec<f64> = (0..losses.len())
            .filter(|&i| !feasible(i))
            .map(|i| violations[i])
            .collect();
        missed.sort_by(f64::total_cmp);
        missed.dedup();
        for i in (0..losses.len()).filter(|&i| !feasible(i)) {
            let dense = missed.partition_point(|&v| v < violations[i]);
            ranks[i] = first_infeasible + dense;
        }
    }
    ranks
}

/// The crowding distance of each point of one front (Deb et al. 2002): per objective, the gap
/// between its two neighbours in that objective over the front's range there, summed. The
/// points at either end of an objective get infinity, so a front's extremes are kept first.
pub fn crowding_distances(front: &[&[f64]]) -> Vec<f64> {
    let n = front.len();
    let mut distance = vec![0.0; n];
    let Some(objectives) = front.first().map(|p| p.len()) else {
        return distance;
    };
    for m in 0..objectives {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| front[a][m].total_cmp(&front[b][m]));
        let (low, high) = (front[order[0]][m], front[order[n - 1]][m]);
        if low == high {
            continue;
        }
        let finite: Vec<f64> = order
            .iter()
            .map(|&i| front[i][m])
            .filter(|v| v.is_finite())
            .collect();
        let width = match (finite.first(), finite.last()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => 1.0,
        };
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        for k in 1..n - 1 {
            let gap = front[order[k + 1]][m] - front[order[k - 1]][m];
            // inf − inf (two infinite neighbours) is no gap.
            distance[order[k]] += if gap.is_nan() { 0.0 } else { gap / width };
        }
    }
    distance
}

/// The hypervolume of `points` up to `reference`: the measure of the objective space that
/// some point dominates and that dominates the reference point. Points not strictly better
/// than the reference on every objective add nothing. Exact: a sweep in two dimensions, the
/// WFG recursion (While, Bradstreet & Barone 2012) in more.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x < r))
        .cloned()
        .collect();
    let front = nondominated(inside);
    match reference.len() {
        0 => 0.0,
        1 => front
            .iter()
            .map(|p| reference[0] - p[0])
            .fold(0.0, f64::max),
        2 => hypervolume_2d(front, reference),
        _ => wfg(front, reference),
    }
}

/// The points no other dominates, duplicates once.
fn nondominated(mut points: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    points.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    points.dedup();
    let mut kept: Vec<Vec<f64>> = Vec::new();
    // Sorted lexicographically, a point can only be dominated by one before it.
    for p in points {
        if !kept.iter().any(|k| dominates(k, &p)) {
            kept.push(p);
        }
    }
    kept
}

/// Two objectives, a non-dominated set sorted by the first: a staircase.
fn hypervolume_2d(front: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let mut volume = 0.0;
    let mut ceiling = reference[1];
    for p in front {
        volume += (reference[0] - p[0]) * (ceiling - p[1]);
        ceiling = p[1];
    }
    volume
}

/// WFG: the volume is the sum of each point's exclusive part, which is its box less what the
/// later points, limited to its box, cover.
fn wfg(front: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let mut volume = 0.0;
    for (i, p) in front.iter().enumerate() {
        let own: f64 = p.iter().zip(reference).map(|(x, r)| r - x).product();
        let limited: Vec<Vec<f64>> = front[i + 1..]
            .iter()
            .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
            .collect();
        let covered = match limited.len() {
            0 => 0.0,
            _ => {
                let limited = nondominated(limited);
                if reference.len() == 2 {
                    hypervolume_2d(limited, reference)
                } else {
                    wfg(limited, reference)
                }
            }
        };
        volume += own - covered;
    }
    volume
}

/// The trials no other beats on every objective: complete ones with a finite value for each of
/// `directions`, and, where any trial has constraints, only those that meet theirs.
pub fn pareto_front<'t>(
    trials: &'t [TrialRecord],
    directions: &[Direction],
) -> Vec<&'t TrialRecord> {
    let constrained = trials.iter().any(|t| !t.constraints.is_empty());
    let candidates: Vec<(&TrialRecord, Vec<f64>)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(|t| !constrained || t.is_feasible())
        .filter_map(|t| Some((t, losses(&t.objective_values(), directions)?)))
        .collect();
    candidates
        .iter()
        .filter(|(_, l)| !candidates.iter().any(|(_, m)| dominates(m, l)))
        .map(|(t, _)| *t)
        .collect()
}

/// Every objective's value as a loss, if there is a finite one for each direction.
pub(crate) fn losses(values: &[f64], directions: &[Direction]) -> Option<Vec<f64>> {
    (values.len() == directions.len() && values.iter().all(|v| v.is_finite())).then(|| {
        values
            .iter()
            .zip(directions)
            .map(|(v, d)| d.loss(*v))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fronts_peel_off_in_order_and_infeasible_points_come_after_by_violation() {
        let points = vec![
            vec![1.0, 4.0],
            vec![2.0, 2.0],
            vec![4.0, 1.0],
            vec![3.0, 3.0],
            vec![5.0, 5.0],
            vec![0.0, 0.0],
        ];
        let ranks = nondominated_ranks(&points[..5], None);
        assert_eq!(ranks, [0, 0, 0, 1, 2]);
        // The best point misses its constraint by 2, (2, 2) by 0.5: both rank after every
        // feasible point, the nearer miss first, and (3, 3), which only (2, 2) dominated,
        // joins the first front.
        let violations = [0.0, 0.5, 0.0, 0.0, 0.0, 2.0];
        let ranks = nondominated_ranks(&points, Some(&violations));
        assert_eq!(ranks, [0, 2, 0, 0, 1, 3]);
        assert!(dominates(&[1.0, 1.0], &[1.0, 2.0]));
        assert!(
            !dominates(&[1.0, 1.0], &[1.0, 1.0]),
            "equal points do not dominate"
        );
    }

    #[test]
    fn a_fronts_ends_are_least_crowded() {
        let front: Vec<&[f64]> = vec![&[0.0, 4.0], &[1.0, 3.0], &[3.0, 1.0], &[4.0, 0.0]];
        let d = crowding_distances(&front);
        assert!(d[0].is_infinite() && d[3].is_infinite());
        // (3 − 0)/4 + (4 − 1)/4 for each inner point.
        assert!(
            (d[1] - 1.5).abs() < 1e-12 && (d[2] - 1.5).abs() < 1e-12,
            "{d:?}"
        );
    }

    #[test]
    fn hypervolumes_match_their_boxes_in_two_and_three_dimensions() {
        // (1, 3) covers 3×1 up to (4, 4), (3, 1) covers 1×3, and they share 1×1; (3.5, 3.5)
        // is dominated and (5, 0) lies beyond the reference.
        let two = vec![
            vec![1.0, 3.0],
            vec![3.0, 1.0],
            vec![3.5, 3.5],
            vec![5.0, 0.0],
        ];
        assert!((hypervolume(&two, &[4.0, 4.0]) - 5.0).abs() < 1e-12);
        // Three boxes of 2×1×1 up to (2, 2, 2), every pair and all three sharing the same unit
        // cube: 3·2 − 3·1 + 1 by inclusion–exclusion.
        let three = vec![
            vec![0.0, 1.0, 1.0],
            vec![1.0, 0.0, 1.0],
            vec![1.0, 1.0, 0.0],
        ];
        let r = [2.0, 2.0, 2.0];
        assert!((hypervolume(&three, &r) - 4.0).abs() < 1e-12);
        // The same in four dimensions, each box 2×1×1×1 up to (2, 2, 2, 2): 4·2 − 6·1 + 4·1 − 1.
        let four = vec![
            vec![0.0, 1.0, 1.0, 1.0],
            vec![1.0, 0.0, 1.0, 1.0],
            vec![1.0, 1.0, 0.0, 1.0],
            vec![1.0, 1.0, 1.0, 0.0],
        ];
        assert!((hypervolume(&four, &[2.0; 4]) - 5.0).abs() < 1e-12);
        // A point on the reference's boundary adds nothing.
        assert_eq!(hypervolume(&[vec![2.0, 0.0, 0.0]], &r), 0.0);
    }
}
