package io.lfmcap.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lfmcap} command: caption images, export and inspect model files, benchmark the engine. */
@Command(name = "lfmcap", mixinStandardHelpOptions = true, versionProvider = Lfmcap.Version.class,
        description = "Batch image captioning with LFM2-VL / LFM2.5-VL (CPU reference engine; CUDA where available).",
        subcommands = {CaptionCommand.class, ExportCommand.class, InspectCommand.class, BenchCommand.class,
                TinyModelCommand.class, CommandLine.HelpCommand.class})
public final class Lfmcap implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (tests run it in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Lfmcap());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("lfmcap " + cmd.getCommandName() + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (Boolean.getBoolean("lfmcap.debug")) e.printStackTrace(cmd.getErr());
            return 2;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Lfmcap.class.getPackage().getImplementationVersion();
            return new String[] {"lfmcap " + (v == null ? "dev" : v)};
        }
    }
}
