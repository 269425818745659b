# The Sykdomspulsen quasi-Poisson algorithm (spec section 2) in plain R, written from the spec.
#
# Usage: Rscript sykdomspulsen.R JOBS.csv OUT.csv
# JOBS.csv has one row per job: job, counts (CSV: `date` + one column per series),
# denominators (CSV of the same shape), frequency (weekly or daily) and years (predicted
# calendar years, separated by ";"). OUT.csv: job, series, date and the results.

args <- commandArgs(trailingOnly = TRUE)
jobs <- read.csv(args[1], stringsAsFactors = FALSE)

easter <- function(year) {
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a <- year %% 19; b <- year %/% 100; c <- year %% 100
    d <- b %/% 4; e <- b %% 4; f <- (b + 8) %/% 25; g <- (b - f + 1) %/% 3
    h <- (19 * a + b - d - g + 15) %% 30; i <- c %/% 4; k <- c %% 4
    l <- (32 + 2 * e + 2 * i - h - k) %% 7; m <- (a + 11 * h + 22 * l) %/% 451
    month <- (h + l - 7 * m + 114) %/% 31; day <- ((h + l - 7 * m + 114) %% 31) + 1
    as.Date(sprintf("%d-%02d-%02d", year, month, day))
}

holidays <- function(years) {
    out <- list()
    for (y in years) {
        e <- easter(y)
        fixed <- as.Date(sprintf("%d-%s", y, c("01-01", "05-01", "05-17", "12-25", "12-26")))
        out[[length(out) + 1]] <- c(fixed, e + c(-7, -3, -2, 0, 1, 39, 49, 50))
    }
    do.call(c, out)
}

features <- function(dates, frequency) {
    years <- as.integer(format(min(dates), "%Y")) - 1L
    days_off <- holidays(years:(as.integer(format(max(dates), "%Y")) + 1L))
    if (frequency == "weekly") {
        thursday <- dates - 3
        week <- as.integer(format(dates, "%V"))
        holiday <- sapply(dates, function(d) mean((d - 0:6) %in% days_off))
        data.frame(trend = (as.numeric(thursday) - 13000) / 100,
                   s = sin(2 * pi * (week - 1) / 52), c = cos(2 * pi * (week - 1) / 52),
                   holiday = holiday)
    } else {
        doy <- as.integer(format(dates, "%j"))
        data.frame(trend = (as.numeric(dates) - 13000) / 100,
                   dow = factor(format(dates, "%u"), levels = as.character(1:7)),
                   s = sin(2 * pi * doy / 366), c = cos(2 * pi * doy / 366),
                   holiday = as.numeric(dates %in% days_off))
    }
}

# Step 8: an error, a warning or no convergence is a failure; so is a fitted mean that is
# numerically 0 (korona's documented rule, glm.fit's "fitted rates numerically 0" for the
# Poisson family: the maximum-likelihood fit does not exist).
# Spec section 6: converge on the coefficients, not on R's deviance criterion, which large
# counts cannot meet (their deviance is only known to rounding, about 1e-8 relative at
# 1e10 cases). glm runs with its default criterion, then Newton steps (one IRLS iteration
# each) continue until the coefficients change by less than 1e-13 relative.
strict_glm <- function(formula, data, weights = NULL) {
    data$prior <- if (is.null(weights)) 1 else weights
    fit_at <- function(control, start = NULL) {
        glm(formula, data = data, weights = prior, family = quasipoisson(link = "log"),
            start = start, control = control)
    }
    unconverged <- "glm.fit: algorithm did not converge"
    fit <- tryCatch(
        withCallingHandlers(
            fit_at(glm.control(maxit = 100)),
            warning = function(w) {
                if (conditionMessage(w) != unconverged) stop(conditionMessage(w))
                invokeRestart("muffleWarning")
            }
        ),
        error = function(e) NULL
    )
    if (is.null(fit)) return(NULL)
    converged <- FALSE
    for (step in 1:30) {
        beta <- coef(fit)
        fit <- suppressWarnings(fit_at(glm.control(maxit = 1), start = beta))
        change <- max(abs(coef(fit) - beta) / (1 + abs(coef(fit))))
        if (is.finite(change) && change < 1e-13) {
            converged <- TRUE
            break
        }
    }
    if (!converged || any(fitted(fit) < 10 * .Machine$double.eps)) NULL else fit
}

predict_year <- function(train, pred, formula) {
    first <- strict_glm(formula, train)
    if (is.null(first)) return(NULL)
    y <- train$n
    mu <- fitted(first)
    df <- first$df.residual
    phi1 <- sum((y - mu)^2 / mu) / df
    r <- 1.5 * (y^(2 / 3) * mu^(-1 / 6) - mu^(1 / 2)) / sqrt(phi1 * (1 - hatvalues(first)))
    r[r < 1] <- 1
    w <- r^(-2)
    w <- w * length(y) / sum(w)
    second <- strict_glm(formula, train, w)
    if (is.null(second)) return(NULL)
    mu <- fitted(second)
    phi <- sum(w * (y - mu)^2 / mu) / df
    p <- predict(second, newdata = pred, se.fit = TRUE, dispersion = phi, type = "link")
    mu0 <- exp(p$fit)
    if (any(!is.finite(mu0)) || any(mu0 > 1e10)) return(NULL)
    se_mu0 <- mu0 * p$se.fit
    tau <- phi + se_mu0^2 / mu0
    sd <- sqrt(4 / 9 * mu0^(1 / 3) * tau)
    u <- function(z) (mu0^(2 / 3) + z * sd)^(3 / 2)
    list(expected = mu0, u2 = pmax(u(2), 2.5), u4 = pmax(u(4), 3), u6 = u(6),
         z = (pred$n^(2 / 3) - mu0^(2 / 3)) / sd, phi = rep(phi, length(mu0)),
         failed = rep(0L, length(mu0)))
}

full <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

results <- list()
for (i in seq_len(nrow(jobs))) {
    job <- jobs[i, ]
    counts <- read.csv(job$counts, stringsAsFactors = FALSE, check.names = FALSE)
    dens <- read.csv(job$denominators, stringsAsFactors = FALSE, check.names = FALSE)
    dates <- as.Date(counts$date)
    x <- features(dates, job$frequency)
    formula <- if (job$frequency == "weekly") {
        n ~ trend + s + c + holiday + offset(log(den))
    } else {
        n ~ trend + dow + s + c + holiday + offset(log(den))
    }
    year_of <- as.integer(format(dates, "%Y"))
    first_year <- min(year_of)
    for (year in as.integer(strsplit(as.character(job$years), ";")[[1]])) {
        # Step 1: 1 January Y-5 up to, not including, 31 December Y-1; later data: the
        # first five years of data.
        start <- max(year - 5, first_year)
        train_rows <- dates >= as.Date(sprintf("%d-01-01", start)) &
            dates < as.Date(sprintf("%d-12-31", start + 4))
        pred_rows <- year_of == year
        for (name in colnames(counts)[-1]) {
            data <- cbind(x, n = counts[[name]], den = pmax(dens[[name]], 1))
            r <- predict_year(data[train_rows, ], data[pred_rows, ], formula)
            m <- sum(pred_rows)
            if (is.null(r)) {
                r <- list(expected = rep(0, m), u2 = rep(5, m), u4 = rep(10, m),
                          u6 = rep(15, m), z = rep(0, m), phi = rep(NA, m),
                          failed = rep(1L, m))
            }
            results[[length(results) + 1]] <- data.frame(
                job = job$job, series = name, date = format(dates[pred_rows]),
                expected = full(r$expected), u2 = full(r$u2), u4 = full(r$u4),
                u6 = full(r$u6), z = full(r$z), phi = full(r$phi), failed = r$failed
            )
        }
    }
}
write.csv(do.call(rbind, results), args[2], row.names = FALSE, quote = FALSE)
