#!/usr/bin/env bash
# The layer rule: imports run one way, cli → http → chain → engine → config → persistence → domain.
# A module may name itself and any layer below it; naming a higher layer is a back-edge, and each
# one is reported as `file:line: layer → higher layer (crate::path)`. Exit status 1 when there is
# any. Usage: scripts/check-layers.sh [SRC_DIR]   (default: src/ of this repository)
#
# What counts as naming a module: `crate::x` anywhere in code (in `use`, in a path in an
# expression or a type), and each top-level name of a grouped `use crate::{a, b::c, …}`, on one
# line or many. Comments (`//`, `///`, `//!`, `/* */`) do not count. src/lib.rs and src/main.rs
# are the root, above every layer.
set -euo pipefail
SRC="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src}"
[ -d "$SRC" ] || { echo "check-layers: no source folder $SRC" >&2; exit 2; }

# Perl rather than grep: grouped imports span lines and nest braces.
find "$SRC" -name '*.rs' -print0 | sort -z | xargs -0 perl -e '
  my @layers = qw(domain persistence config engine chain http cli);
  my %rank; @rank{@layers} = 0 .. $#layers;
  my ($src, $bad) = (shift @ARGV, 0);
  for my $file (@ARGV) {
    (my $rel = $file) =~ s{^\Q$src\E/?}{};
    my ($top) = $rel =~ m{^([A-Za-z_][A-Za-z0-9_]*)(?:/|\.rs$)};
    next unless defined $top && exists $rank{$top};
    open my $fh, "<", $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    # Blank out comments, string and char literals (raw strings too), keeping newlines so that
    # line numbers hold. Scanned left to right, so a "//" inside a string stays a string.
    $text =~ s{(//[^\n]*|/\*.*?\*/|r(\#*)".*?"\2|"(?:\\.|[^"\\])*"|\x27(?:\\\x27|\\[^\x27]+|[^\x27\\])\x27)}
              { (my $m = $1) =~ s/[^\n]/ /g; $m }gse;
    while ($text =~ m{\bcrate\s*::\s*(\{|[A-Za-z_][A-Za-z0-9_]*)}g) {
      my ($what, $at) = ($1, $-[0]);
      my @names;
      if ($what eq "{") {
        # The top-level items of the group: split on commas outside nested braces.
        my ($depth, $item, $i) = (1, "", pos($text));
        for (; $i < length($text) && $depth > 0; $i++) {
          my $c = substr($text, $i, 1);
          $depth++ if $c eq "{";
          $depth-- if $c eq "}";
          if ($depth == 1 && $c eq ",") { push @names, $item; $item = ""; next }
          $item .= $c if $depth >= 1 && !($depth == 1 && $c eq "}");
        }
        push @names, $item;
        @names = map { /^\s*([A-Za-z_][A-Za-z0-9_]*)/ ? $1 : () } @names;
      } else {
        @names = ($what);
      }
      my $line = 1 + (substr($text, 0, $at) =~ tr/\n//);
      for my $name (@names) {
        next unless exists $rank{$name} && $rank{$name} > $rank{$top};
        print "$rel:$line: $top → $name (crate::$name)\n";
        $bad++;
      }
    }
  }
  if ($bad) {
    print STDERR "check-layers: $bad back-edge(s); imports run cli → http → chain → engine → config → persistence → domain\n";
    exit 1;
  }
  print "check-layers: no back-edges (cli → http → chain → engine → config → persistence → domain)\n";
' "$SRC" || exit 1
