package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the environment twin of a flag: --tick-rate is TICKWIRE_TICK_RATE.
func envName(flagName string) string {
	return "TICKWIRE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envOf is the environment twin of fs's flag name. Every subcommand shares
// envName, except that a config file belongs to one subcommand: `tickwire
// bots` reads TICKWIRE_BOTS_CONFIG, so a serve config in TICKWIRE_CONFIG (a
// container's, say) does not make the bots refuse its serve-only keys.
func envOf(fs *flag.FlagSet, name string) string {
	if name == "config" && fs.Name() != "serve" {
		return "TICKWIRE_" + strings.ToUpper(fs.Name()) + "_CONFIG"
	}
	return envName(name)
}

// parseFlags parses args, then fills every flag not given on the command line
// from its environment twin, then (if fs has --config and it names a file)
// every flag still unset from that file: command line > environment > config
// file > default. A bad value in any place is an error naming it.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envOf(fs, f.Name)); ok {
			given[f.Name] = true
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envOf(fs, f.Name), v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		return applyConfig(fs, cf.Value.String(), given)
	}
	return nil
}

// usageWithEnv prints the flags with their environment twins.
func usageWithEnv(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s\n\nflags (each also read from its environment variable):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  --%s (%s)\n    \t%s (default %q)\n", f.Name, envOf(fs, f.Name), f.Usage, f.DefValue)
		})
	}
}

// flagSet reports whether the flag was given anywhere: on the command line,
// in the environment or in the config file.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
