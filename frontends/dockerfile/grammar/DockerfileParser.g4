// A Dockerfile as a sequence of physical lines; see DockerfileLexer.g4.
parser grammar DockerfileParser;

options { tokenVocab = DockerfileLexer; }

// The last line may lack its newline. Keeping that line out of
// physicalLine makes the grammar unambiguous, so ANTLR predicts with SLL
// instead of full-context lookahead on every line.
dockerfile : physicalLine* lastLine? EOF ;

physicalLine : content? NEWLINE ;

lastLine : content ;

content
  : COMMENT_LINE   # commentLine
  | BLANK_LINE     # blankLine
  | TEXT_LINE      # textLine
  ;
