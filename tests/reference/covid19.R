# The covid-19 signal (spec section 4) in plain R with qpois, written from the spec.
#
# Usage: Rscript covid19.R COUNTS.csv CONSULTATIONS.csv OUT.csv
# COUNTS.csv: `date` + one column per location (MSIS cases or covid consultations);
# CONSULTATIONS.csv: all consultations, same shape (for the consultation signal).
# OUT.csv: one row per source, location and judged week.

args <- commandArgs(trailingOnly = TRUE)
counts <- read.csv(args[1], stringsAsFactors = FALSE, check.names = FALSE)
all <- read.csv(args[2], stringsAsFactors = FALSE, check.names = FALSE)
dates <- as.Date(counts$date)
# From the week whose Sunday is on or after 9 March 2020, with two weeks before it.
weeks <- which(dates >= as.Date("2020-03-09") & seq_along(dates) > 2)

full <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
results <- list()
for (name in colnames(counts)[-1]) {
    n <- counts[[name]][weeks]
    before <- counts[[name]][weeks - 1] + counts[[name]][weeks - 2]
    # MSIS cases: baseline max(1, ceiling(mean of the two previous weeks)).
    baseline <- pmax(1, ceiling(before / 2))
    limit <- qpois(0.975, baseline)
    results[[length(results) + 1]] <- data.frame(
        source = "cases", series = name, date = format(dates[weeks]),
        expected = full(baseline), threshold = full(limit), percent = "NA",
        high = as.integer(n > limit), failed = 0L
    )
    # Consultations: share of the two previous weeks (at least 0.01 %), expected
    # ceiling(share x N), threshold the Poisson quantile as a percentage of N, capped at 100.
    big_n <- all[[name]][weeks]
    all_before <- all[[name]][weeks - 1] + all[[name]][weeks - 2]
    share <- ifelse(all_before > 0, before / all_before, 0)
    share <- pmax(share, 0.0001)
    expected <- ceiling(share * big_n)
    # Both percentages as 100 * count / N, so a count equal to the quantile is never above it
    # by rounding.
    percent <- pmin(100, 100 * qpois(0.975, expected) / big_n)
    failed <- big_n <= 0  # no consultations: the week cannot be judged
    high <- !failed & (100 * n / big_n > percent)
    results[[length(results) + 1]] <- data.frame(
        source = "consultations", series = name, date = format(dates[weeks]),
        expected = full(expected), threshold = "NA", percent = full(ifelse(failed, NA, percent)),
        high = as.integer(high), failed = as.integer(failed)
    )
}
write.csv(do.call(rbind, results), args[3], row.names = FALSE, quote = FALSE)
