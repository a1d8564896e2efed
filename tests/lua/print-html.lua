-- The HC3 console's HTML subset prints as plain text when stdout is not a terminal.
print("<font color='red'>red</font> and <font color=\"#00ff00\">green</font>")
print("a<br>b")
print("x &amp; y &lt;tag&gt; &nbsp;z")
print("a < b and c > d")
print("<b>bold</b> <i>italic</i>")
