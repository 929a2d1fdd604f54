namespace CsiDriver.Bench;

/// <summary>
/// The csi-driver builds a command compares: --driver / --label (this build by default) and an optional
/// --baseline / --baseline-label (another commit's csi-driver.dll), which runs first.
/// </summary>
public sealed class DriverBuilds
{
    private string _driver = Path.Combine(AppContext.BaseDirectory, "csi-driver.dll");
    private string _label = "this build";
    private string? _baseline;
    private string _baselineLabel = "baseline";

    /// <summary>Takes the option when it is one of the four (value() reads its value); false for any other option.</summary>
    public bool TryTake(string option, Func<string> value)
    {
        switch (option)
        {
            case "--driver":
                _driver = Path.GetFullPath(value());
                return true;
            case "--label":
                _label = value();
                return true;
            case "--baseline":
                _baseline = Path.GetFullPath(value());
                return true;
            case "--baseline-label":
                _baselineLabel = value();
                return true;
            default:
                return false;
        }
    }

    /// <summary>One error per build whose csi-driver.dll does not exist.</summary>
    public IEnumerable<string> Errors() =>
        new[] { _driver, _baseline }.OfType<string>().Where(d => !File.Exists(d)).Select(d => $"no csi-driver build at {d}");

    /// <summary>The baseline (when given) first, then the build under test.</summary>
    public List<(string Label, string Dll)> InOrder() =>
        _baseline is null ? [(_label, _driver)] : [(_baselineLabel, _baseline), (_label, _driver)];
}
