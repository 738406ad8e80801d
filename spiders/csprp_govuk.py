"""The Child Safeguarding Practice Review Panel's publications and news on GOV.UK."""

from spiders._govuk import GovukOrganisationSpider


class CsprpGovukSpider(GovukOrganisationSpider):
    name = "csprp_govuk"
    allowed_domains = ["www.gov.uk"]
