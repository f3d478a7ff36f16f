// A Dockerfile as a sequence of physical lines; see DockerfileLexer.g4.
parser grammar DockerfileParser;

options { tokenVocab = DockerfileLexer; }

dockerfile : physicalLine* EOF ;

// The last line may lack its newline.
physicalLine
  : content? NEWLINE
  | content
  ;

content
  : COMMENT_LINE   # commentLine
  | BLANK_LINE     # blankLine
  | TEXT_LINE      # textLine
  ;
