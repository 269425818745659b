# Runs surveillance::farringtonFlexible for every job of a manifest; korona's reference.
#
# Usage: Rscript farrington.R JOBS.csv OUT.csv
# JOBS.csv has one row per job: job, counts (a CSV with a `date` column and one column per
# series), first and last (1-based rows to predict) and farringtonFlexible's control values.
# OUT.csv gets one row per job, series and predicted row with R's results at full precision.

suppressPackageStartupMessages(library(surveillance))

args <- commandArgs(trailingOnly = TRUE)
jobs <- read.csv(args[1], stringsAsFactors = FALSE)

# farringtonFlexible calls glm() with glm.control()'s defaults (deviance change 1e-8), which
# leaves errors of about 1e-5 relative in the fits. The spec (section 6) wants references
# converged as tightly as korona, so glm.control's default epsilon is tightened here;
# nothing else in R changes.
tightened <- stats::glm.control
formals(tightened)$epsilon <- quote(getOption("korona.glm.epsilon", 1e-14))
formals(tightened)$maxit <- quote(getOption("korona.glm.maxit", 100))
utils::assignInNamespace("glm.control", tightened, ns = "stats")

full <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

# A reference period without cases in the current level has no maximum-likelihood fit; glm
# iterates towards fitted means of 0 and, converged this tightly, can end rank-deficient so
# that predict.glm stops with "singular matrix". Such a series is rerun alone with R's own
# glm.control defaults (what farringtonFlexible uses as shipped) and flagged `loose`.
run <- function(observed, dates, control, tight) {
    series <- sts(observed = observed, epoch = as.numeric(dates), epochAsDate = TRUE,
                  frequency = 52)
    if (!tight) {
        options(korona.glm.epsilon = 1e-8, korona.glm.maxit = 25)
        on.exit(options(korona.glm.epsilon = NULL, korona.glm.maxit = NULL))
    }
    # R warns when a fit fails; the NA it leaves is what the comparison checks.
    suppressWarnings(farringtonFlexible(series, control = control))
}

rows <- function(job, range, fit, j, name, loose) {
    data.frame(
        job = job$job,
        series = name,
        row = range,
        expected = full(fit@control$expected[, j]),
        upperbound = full(fit@upperbound[, j]),
        alarm = as.integer(fit@alarm[, j]),
        trend = fit@control$trend[, j],
        phi = full(fit@control$phiVector[, j]),
        score = full(fit@control$score[, j]),
        loose = as.integer(loose)
    )
}

results <- list()
for (i in seq_len(nrow(jobs))) {
    job <- jobs[i, ]
    counts <- read.csv(job$counts, stringsAsFactors = FALSE, check.names = FALSE)
    dates <- as.Date(counts$date)
    observed <- as.matrix(counts[, -1, drop = FALSE])
    control <- list(
        range = job$first:job$last, b = job$b, w = job$w, reweight = as.logical(job$reweight),
        weightsThreshold = job$weightsThreshold, alpha = job$alpha,
        trend = as.logical(job$trend), pThresholdTrend = job$pThresholdTrend,
        limit54 = c(job$limitCases, job$limitWeeks), powertrans = job$powertrans,
        populationOffset = FALSE, noPeriods = job$noPeriods,
        pastWeeksNotIncluded = job$pastWeeksNotIncluded,
        thresholdMethod = job$thresholdMethod
    )
    fit <- tryCatch(run(observed, dates, control, TRUE), error = function(e) NULL)
    for (j in seq_len(ncol(observed))) {
        name <- colnames(observed)[j]
        if (!is.null(fit)) {
            results[[length(results) + 1]] <- rows(job, control$range, fit, j, name, FALSE)
            next
        }
        one <- observed[, j, drop = FALSE]
        alone <- tryCatch(run(one, dates, control, TRUE), error = function(e) NULL)
        loose <- is.null(alone)
        if (loose) alone <- run(one, dates, control, FALSE)
        results[[length(results) + 1]] <- rows(job, control$range, alone, 1, name, loose)
    }
}
write.csv(do.call(rbind, results), args[2], row.names = FALSE, quote = FALSE)
