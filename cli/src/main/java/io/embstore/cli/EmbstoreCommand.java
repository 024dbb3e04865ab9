package io.embstore.cli;

import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/**
 * The top-level {@code embstore} command: it holds the subcommands, and its {@code --help} and {@code --version}
 * options, being of scope INHERIT, are every subcommand's too.
 */
@Command(name = "embstore",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class,
        synopsisSubcommandLabel = "COMMAND",
        description = {
                "",
                "Embedding tables in memory-mapped files: any number of processes read one table, one writer updates"
                        + " it in place, and readers see the changes without reopening it."},
        commandListHeading = "%nCommands:%n")
final class EmbstoreCommand extends BaseCommand {
    /**
     * The subcommands, in the order {@code --help} lists them. Registered by {@link EmbstoreCli#createCommandLine}
     * rather than in the annotation, so that a run of one command builds the model of that command alone.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            ConvertCommand.class,
            ExportCommand.class,
            CreateCommand.class,
            InfoCommand.class,
            GetCommand.class,
            VerifyCommand.class,
            IndexCommand.class,
            SimilarCommand.class,
            AnalogyCommand.class,
            SimilarityCommand.class,
            EvaluateCommand.class,
            ServeCommand.class,
            PublishCommand.class,
            ReplicateCommand.class,
            TrainClassifierCommand.class,
            TestClassifierCommand.class,
            PredictCommand.class,
            CompactClassifierCommand.class,
            DemoCommand.class,
            DemoReaderCommand.class,
            CommandLine.HelpCommand.class);

    /** Without a command there is nothing to do: show what there is. */
    @Override
    public Integer call() {
        spec.commandLine().getErr().println("embstore: a command is required");
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE;
    }
}
