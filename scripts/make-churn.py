#!/usr/bin/env python3
"""Writes configs/data/churn-{train,test,new}.csv: a made-up subscription service's customers,
with text columns, missing cells and a yes/no churn target. Synthetic, seeded, dedicated to the
public domain (CC0 1.0); see configs/data/README.md. Run from the repository root."""

import math
import random

PLANS = {"basic": 9.99, "standard": 19.99, "premium": 34.99}
REGIONS = ["north", "south", "east", "west"]
PAYMENTS = ["card", "invoice", "paypal"]


def customer(rng):
    plan = rng.choices(list(PLANS), weights=[5, 3, 2])[0]
    region = rng.choice(REGIONS)
    payment = rng.choices(PAYMENTS, weights=[6, 2, 3])[0]
    tenure = max(1, min(72, int(rng.expovariate(1 / 20)) + 1))
    fee = round(PLANS[plan] * rng.uniform(0.9, 1.1), 2)
    calls = min(10, int(rng.expovariate(1 / 1.5)))
    age = round(rng.gauss(41, 12))
    age = max(18, min(85, age))
    satisfaction = max(1, min(5, round(rng.gauss(3.6 - 0.35 * calls, 0.9))))
    score = (
        -0.6
        - 0.05 * tenure
        + 0.45 * calls
        - 0.55 * (satisfaction - 3)
        + {"basic": 0.5, "standard": 0.0, "premium": -0.6}[plan]
        + {"card": -0.3, "invoice": 0.6, "paypal": 0.0}[payment]
        + (0.5 if region == "south" else 0.0)
        - 0.015 * (age - 41)
    )
    churned = "yes" if rng.random() < 1 / (1 + math.exp(-score)) else "no"
    row = {
        "plan": plan,
        "region": region,
        "tenure_months": str(tenure),
        "monthly_fee": f"{fee:.2f}",
        "support_calls": str(calls),
        "payment": payment,
        "age": str(age),
        "satisfaction": str(satisfaction),
        "churned": churned,
    }
    # Real exports have holes: ages people did not give, surveys not answered, a lost field.
    if rng.random() < 0.06:
        row["age"] = ""
    if rng.random() < 0.04:
        row["satisfaction"] = "NA"
    if rng.random() < 0.02:
        row["payment"] = ""
    return row


def write(path, rows, columns):
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(row[c] for c in columns) + "\n")


def main():
    rng = random.Random(20261202)
    columns = [
        "plan",
        "region",
        "tenure_months",
        "monthly_fee",
        "support_calls",
        "payment",
        "age",
        "satisfaction",
        "churned",
    ]
    rows = [customer(rng) for _ in range(1500 + 400 + 12)]
    # An identifier, as real exports have: not a feature (the config ignores it), but carried
    # into the predictions so they can be joined back.
    for number, row in enumerate(rows, start=1):
        row["customer_id"] = f"C{number:05d}"
    columns = ["customer_id"] + columns
    write("configs/data/churn-train.csv", rows[:1500], columns)
    write("configs/data/churn-test.csv", rows[1500:1900], columns)
    # New customers to score: no churn column yet.
    write("configs/data/churn-new.csv", rows[1900:], columns[:-1])


if __name__ == "__main__":
    main()
