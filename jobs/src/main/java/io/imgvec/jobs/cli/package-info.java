/**
 * The one entry point, {@code bin/imgvec <command>}: the commands and their options (picocli declarations, from which
 * {@code --help} is generated), configuration overrides ({@code --key=value}), one-line user errors and exit
 * statuses. It parses, opens the Spark session a job runs in, and dispatches; the work lives in the job packages.
 * Main recognises Spark's analysis errors about a path as user errors.
 *
 * <p>Spark: JobCommands, Main.
 */
package io.imgvec.jobs.cli;
