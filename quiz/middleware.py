from quiz.identity import set_voter_cookie_if_new


class VoterCookieMiddleware:
    """Sets the voter cookie on the response when a view issued a new voter key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        set_voter_cookie_if_new(request, response)
        return response
