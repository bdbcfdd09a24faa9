from __future__ import annotations

import random
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from quiz.aggregation import DEFAULT_SENSITIVITY, DEFAULT_SPECIFICITY


class Label(models.TextChoices):
    CORROSION = "corrosion", _("Corrosion")
    NO_CORROSION = "no_corrosion", _("No corrosion")


class LabelSource(models.TextChoices):
    EXPERT = "expert", "Expert"
    CROWD = "crowd", "Crowd"
    IMPORTED = "imported", "Imported"


class Wording(models.TextChoices):
    """Which question a vote answered. The paper asked "any signs of corrosion" and recommends asking
    about corrosion worth repairing instead; recording the wording on every vote lets the two be compared."""

    ANY = "any", _("Any signs of corrosion")
    REPAIR = "repair", _("Corrosion you would recommend be repaired")


# The question each wording puts to volunteers (QUIZ_WORDING chooses which one the quiz asks).
QUESTIONS = {
    Wording.ANY: _("Please select the images in which you see any signs of corrosion."),
    Wording.REPAIR: _("Please select the images that show steel corrosion that you would recommend be repaired."),
}


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"


class Source(models.TextChoices):
    SEED = "seed", "Seed import"
    UPLOAD = "upload", "Upload"


class Moderation(models.TextChoices):
    APPROVED = "approved", "Approved"
    PENDING = "pending", "Waiting for staff"
    REJECTED = "rejected", "Rejected"


class ReportReason(models.TextChoices):
    INAPPROPRIATE = "inappropriate", _("Inappropriate")
    PERSONAL_INFORMATION = "personal_information", _("Shows personal information")
    NOT_RELEVANT = "not_relevant", _("Not relevant")


class Expertise(models.TextChoices):
    UNKNOWN = "", pgettext_lazy("experience with corrosion", "Not given")
    NONE = "none", pgettext_lazy("experience with corrosion", "None")
    SOME = "some", pgettext_lazy("experience with corrosion", "Some")
    PROFESSIONAL = "professional", pgettext_lazy("experience with corrosion", "Professional")

    @classmethod
    def name_of(cls, value: str) -> str:
        """How a stored level reads in tables and charts ("not given", "some"); a value no level has, as stored."""
        return cls(value).label.lower() if value in cls.values else value


# Train images whose label could still change with votes: no label at all, or only an imported one.
NEEDS_VOTES = Q(excluded=False, split=Split.TRAIN) & (
    Q(label_source__isnull=True) | Q(label_source=LabelSource.IMPORTED)
)


def _random_key() -> float:
    return random.random()


def image_upload_to(instance: Image, filename: str) -> str:
    # Content-addressed names: the same picture always maps to the same file, and
    # a name never reveals what the uploader called it.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"images/{instance.sha256[:2]}/{instance.sha256}.{extension}"


class Image(models.Model):
    file = models.FileField(upload_to=image_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SEED)
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.TRAIN)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    # What pages show instead of the full file (quiz.imaging.make_thumbnail); empty for an image imported
    # before thumbnails existed, until `manage.py make_thumbnails` gives it one.
    # A database default too: benchmarks and tests fill the table with raw INSERTs that name no thumbnail.
    thumbnail = models.FileField(max_length=255, blank=True, default="", db_default="")
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True)

    imported_label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    crowd_label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    expert_label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    # Derived from the three above (expert > crowd > imported) but stored, because training
    # and the quiz filter on it over the whole table.
    effective_label = models.CharField(max_length=16, choices=Label.choices, null=True, blank=True)
    label_source = models.CharField(max_length=16, choices=LabelSource.choices, null=True, blank=True)
    labelled_at = models.DateTimeField(null=True, blank=True)

    # Posterior of the crowd label under weighted aggregation (null when there is no crowd label, and
    # always under majority voting, which has no posterior).
    crowd_confidence = models.FloatField(null=True, blank=True)

    # The active model's view of an image still needing votes, for uncertainty-first selection:
    # P(corrosion), |P - 0.5| (indexed: small = unsure) and the version number that scored it.
    model_probability = models.FloatField(null=True, blank=True)
    model_margin = models.FloatField(null=True, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True, help_text="ModelVersion.version")

    # Confident learning (modelzoo.services.suspect_labels_find) thinks this training label is wrong:
    # 1 - the out-of-fold P(given label), null when not suspected. The quiz serves suspects again and
    # training may down-weight them (TRAIN_SUSPECT_WEIGHT).
    label_suspect_score = models.FloatField(null=True, blank=True)
    label_suspected_at = models.DateTimeField(null=True, blank=True)

    votes_yes = models.PositiveIntegerField(default=0)
    votes_no = models.PositiveIntegerField(default=0)
    vote_count = models.PositiveIntegerField(default=0)
    # A uniform random number fixed per image: the quiz samples by range scans on it
    # instead of ORDER BY RANDOM() over the whole table.
    random_key = models.FloatField(default=_random_key)

    # Who may see it. Imports are shared; an upload is shared once one of its uploaders says so (until
    # then its files live on the private storage, served to its uploaders alone).
    # Database defaults on every field below: benchmarks and tests insert images with raw SQL.
    shared = models.BooleanField(default=True, db_default=True)
    moderation = models.CharField(
        max_length=16, choices=Moderation.choices, default=Moderation.APPROVED, db_default=Moderation.APPROVED
    )
    moderation_reason = models.CharField(max_length=255, blank=True, default="", db_default="")
    moderated_at = models.DateTimeField(null=True, blank=True)
    # Reports from distinct voters reached QUIZ_REPORTS_TO_HIDE: out of the quiz until staff decide.
    hidden_by_reports = models.BooleanField(default=False, db_default=False)
    report_count = models.PositiveIntegerField(default=0, db_default=0)
    excluded_by_staff = models.BooleanField(default=False, db_default=False)
    # Perceptual hash (64-bit dHash/pHash as 16 hex digits) for near-duplicate checks; "" until computed.
    phash = models.CharField(max_length=16, blank=True, default="", db_default="", db_index=True)
    # A near-duplicate of this validation image (resized, re-encoded, cropped, recoloured): it must never
    # train the model that the validation set scores.
    near_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="near_duplicates"
    )

    # The one gate of the pool: the quiz, training, exports and the dashboard's lists all filter on
    # excluded=False. Stored, and derived from the reasons above by refresh_excluded().
    excluded = models.BooleanField(default=False)
    excluded_reason = models.CharField(max_length=255, blank=True, help_text="staff's reason, with excluded_by_staff")
    # Shown to a volunteer after they answered this photo as a gold question: why the experts labelled it so.
    expert_note = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="optional: why the experts' label is what it is, shown to volunteers after they answer it",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(split=Split.TRAIN) | Q(expert_label__isnull=False),
                name="validation_image_has_expert_label",
            ),
            models.CheckConstraint(
                condition=Q(vote_count=models.F("votes_yes") + models.F("votes_no")),
                name="vote_count_is_yes_plus_no",
            ),
        ]
        indexes = [
            # Every quiz tier is one (split, label_source) prefix, fewest votes first, sampled from a
            # random point of random_key: range scans, never a sort of the table.
            models.Index(
                fields=["split", "label_source", "vote_count", "random_key"],
                condition=Q(excluded=False),
                name="image_quiz_selection",
            ),
            models.Index(
                fields=["model_margin"],
                condition=NEEDS_VOTES,
                name="image_quiz_uncertain",
            ),
            # The quiz's suspect slots (quiz.selectors._suspects): a few hundred rows at most, fewest votes first.
            models.Index(
                fields=["vote_count", "-label_suspect_score"],
                condition=Q(excluded=False, split=Split.TRAIN, label_suspect_score__isnull=False),
                name="image_quiz_suspect",
            ),
            models.Index(fields=["effective_label", "split"], name="image_label_split"),
            models.Index(fields=["labelled_at"], name="image_labelled_at"),
        ]

    def __str__(self) -> str:
        return f"Image {self.pk} ({self.split}, {self.effective_label or 'unlabelled'})"

    @property
    def display_url(self) -> str:
        """The thumbnail's URL, or the full file's for an image that has no thumbnail yet."""
        return self.thumbnail.url if self.thumbnail else self.file.url

    @property
    def display_width(self) -> int:
        return self.thumbnail_width if self.thumbnail else self.width

    @property
    def display_height(self) -> int:
        return self.thumbnail_height if self.thumbnail else self.height

    @property
    def agreement(self) -> float | None:
        """Share of votes on the majority side, the paper's agreement measure."""
        if self.vote_count == 0:
            return None
        return max(self.votes_yes, self.votes_no) / self.vote_count

    def count_vote(self, *, corrosion: bool, by: int = 1) -> None:
        """Count (or with by=-1 take back) one vote, leaving the labels to the caller. The caller holds the row lock."""
        if corrosion:
            self.votes_yes += by
        else:
            self.votes_no += by
        self.vote_count = self.votes_yes + self.votes_no

    def refresh_crowd_label(self, *, min_votes: int) -> None:
        """Majority voting: the paper's rule."""
        self.crowd_confidence = None
        if self.vote_count < min_votes or self.votes_yes == self.votes_no:
            # Below the threshold, or a tie: undecided until more votes break it.
            self.crowd_label = None
        elif self.votes_yes > self.votes_no:
            self.crowd_label = Label.CORROSION
        else:
            self.crowd_label = Label.NO_CORROSION
        self.refresh_effective_label()

    def set_crowd_decision(self, *, corrosion: bool | None, confidence: float | None) -> None:
        """Weighted aggregation's verdict (see quiz.aggregation.crowd_decision); None = undecided."""
        if corrosion is None:
            self.crowd_label, self.crowd_confidence = None, None
        else:
            self.crowd_label = Label.CORROSION if corrosion else Label.NO_CORROSION
            # Rounded so that re-aggregation rewrites a row only when its confidence really moved.
            self.crowd_confidence = round(float(confidence), 4)
        self.refresh_effective_label()

    def refresh_excluded(self) -> None:
        self.excluded = (
            not self.shared
            or self.moderation != Moderation.APPROVED
            or self.hidden_by_reports
            or self.excluded_by_staff
            or self.near_duplicate_of_id is not None
        )

    def refresh_effective_label(self) -> None:
        by_precedence = [
            (self.expert_label, LabelSource.EXPERT),
            (self.crowd_label, LabelSource.CROWD),
            (self.imported_label, LabelSource.IMPORTED),
        ]
        label, source = next(((lab, src) for lab, src in by_precedence if lab), (None, None))
        if (label, source) != (self.effective_label, self.label_source):
            self.effective_label, self.label_source = label, source
            self.labelled_at = timezone.now() if label else None


# What refresh_excluded() reads, and writes.
EXCLUSION_FIELDS = [
    "shared",
    "moderation",
    "moderation_reason",
    "moderated_at",
    "hidden_by_reports",
    "report_count",
    "excluded_by_staff",
    "near_duplicate_of",
    "excluded",
]
LABEL_FIELDS = ["crowd_label", "crowd_confidence", "expert_label", "effective_label", "label_source", "labelled_at"]
COUNTER_FIELDS = ["votes_yes", "votes_no", "vote_count"]


class Voter(models.Model):
    """An anonymous volunteer, known only by the random key in their signed cookie."""

    key = models.UUIDField(unique=True, default=uuid.uuid4)
    expertise = models.CharField(max_length=16, choices=Expertise.choices, blank=True, default="")
    # Keyed hash (HMAC) of the last address seen, for abuse review; never the address itself.
    ip_hash = models.CharField(max_length=64, blank=True)
    votes_cast = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # Estimated by crowd_labels_reaggregate (Dawid–Skene with gold); a newcomer is a typical voter.
    # Database defaults too, because the vote path creates voters with raw SQL.
    sensitivity = models.FloatField(
        default=DEFAULT_SENSITIVITY, db_default=DEFAULT_SENSITIVITY, help_text="P(ticks | corrosion)"
    )
    specificity = models.FloatField(
        default=DEFAULT_SPECIFICITY, db_default=DEFAULT_SPECIFICITY, help_text="P(leaves unticked | no corrosion)"
    )
    reliability_at = models.DateTimeField(null=True, blank=True, help_text="when last estimated")
    # The answer last given to "Share with the crowd" on the upload page, offered again next time.
    shares_uploads = models.BooleanField(default=False, db_default=False)

    def __str__(self) -> str:
        return f"Voter {str(self.key)[:8]}"


class Vote(models.Model):
    # No index of its own: the unique (voter, image) constraint's index starts with voter.
    voter = models.ForeignKey(Voter, on_delete=models.CASCADE, related_name="votes", db_index=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="votes")
    corrosion = models.BooleanField()
    # The voter's self-reported expertise when voting, so splits by expertise need no join.
    expertise = models.CharField(max_length=16, choices=Expertise.choices, blank=True, default="")
    # The question the voter was shown (carried by the round token, so a setting changed mid-round does not
    # mislabel it). Votes from before wordings were recorded answered the original one, "any".
    wording = models.CharField(max_length=16, choices=Wording.choices, default=Wording.ANY, db_default=Wording.ANY)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voter", "image"], name="one_vote_per_voter_and_image"),
        ]

    def __str__(self) -> str:
        return f"Vote {self.pk}: {'corrosion' if self.corrosion else 'no corrosion'}"


class Report(models.Model):
    """A volunteer's "Report this photo"; one per voter and image."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reports")
    voter = models.ForeignKey(Voter, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=32, choices=ReportReason.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when staff decided on the image (kept or rejected): the report no longer counts towards hiding it.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["voter", "image"], name="one_report_per_voter_and_image")]

    def __str__(self) -> str:
        return f"Report {self.pk} on image {self.image_id}: {self.reason}"


class CrowdAggregation(models.Model):
    """One run of crowd_labels_reaggregate; the latest one's class prior feeds the live vote path."""

    class_prior = models.FloatField(help_text="estimated P(corrosion)")
    votes = models.PositiveIntegerField()
    voters = models.PositiveIntegerField()
    gold_images = models.PositiveIntegerField()
    iterations = models.PositiveIntegerField()
    voters_updated = models.PositiveIntegerField(default=0)
    images_relabelled = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Aggregation {self.pk} ({self.votes} votes, prior {self.class_prior:.2f})"


class ReviewItem(Image):
    """The admin's review queue: controversial images and suspect labels, one click from an expert label."""

    class Meta:
        proxy = True
        verbose_name = "review queue item"
        verbose_name_plural = "review queue (disagreements, suspect labels)"


class ModerationItem(Image):
    """The admin's moderation queue: shared photos waiting for staff, or pulled from the quiz by reports."""

    class Meta:
        proxy = True
        verbose_name = "moderation queue item"
        verbose_name_plural = "moderation queue (new and reported photos)"


class VoteTally(models.Model):
    """Votes per day and expertise, kept up to date by the vote services, so the dashboard never
    counts millions of vote rows. Each (day, expertise) is spread over a few shard rows: concurrent
    voters then rarely wait on the same counter row."""

    SHARDS = 8

    day = models.DateField()
    expertise = models.CharField(max_length=16, choices=Expertise.choices, blank=True, default="")
    shard = models.PositiveSmallIntegerField(default=0)
    # Signed: a changed vote moves one "yes" between shard rows, so a single row may dip below zero.
    votes = models.IntegerField(default=0)
    yes = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "expertise", "shard"], name="one_tally_row")]

    def __str__(self) -> str:
        return f"{self.day} {Expertise.name_of(self.expertise)} #{self.shard}: {self.votes}"
