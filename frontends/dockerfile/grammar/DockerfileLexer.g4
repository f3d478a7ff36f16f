// Physical lines of a Dockerfile.
//
// The Dockerfile syntax is line oriented, and its escape character (which is
// also the line-continuation character) can be changed by a parser directive
// in the file itself, so the lexer only classifies physical lines; the
// logical-line assembly (continuations, heredoc bodies, directives) follows
// BuildKit's scanner in src/parser.cc.
//
// The input is fed one byte per code point (see src/parser_lines.cc), so token
// start/stop indices are byte offsets and any byte sequence lexes.
lexer grammar DockerfileLexer;

// A line whose first non-blank character is '#': a comment or a directive.
COMMENT_LINE : BLANK* '#' ~[\n]* ;

// A line holding only blanks (and carriage returns).
BLANK_LINE : BLANK+ ;

// Anything else: an instruction, a continuation or a heredoc body line.
TEXT_LINE : ~[\n]+ ;

NEWLINE : '\n' ;

fragment BLANK : [ \t\r\u000B\u000C] ;
