import SuretyCLI

await SuretyCommand.runAndExit()
