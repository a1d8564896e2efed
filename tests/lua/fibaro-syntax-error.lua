-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- A QuickApp with a syntax error is one clear console line naming its file
-- and line (as the box shows it), with no traceback of plua's own frames;
-- the QuickApp does not start and the run goes on.
--%%name:Broken
--%%id:7350
function QuickApp:onInit()
  print("must not run"
end
