using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CsiDriver.Core;

/// <summary>Checks <see cref="DriverOptions"/> at start; each failure names the command-line flag to fix.</summary>
public sealed class DriverOptionsValidator : IValidateOptions<DriverOptions>
{
    public ValidateOptionsResult Validate(string? name, DriverOptions options) => ValidatedOptions.ToResult(options.Validate());
}

/// <summary>Registers <see cref="DriverOptions"/>: the settings every part of the driver shares.</summary>
public static class DriverOptionsRegistration
{
    public static IServiceCollection AddDriverOptions(this IServiceCollection services, DriverOptions values)
    {
        services.AddValidatedOptions<DriverOptions, DriverOptionsValidator>(values);
        return services;
    }
}
